/**
 * The browser end of the pipe: publish → row in the plugin's frame, in Chromium.
 *
 * A real collector (bench/lib/server-process.js), the test host (plugin/test-host/host-server.ts)
 * serving the built plugin/dist/module.js and playing Grafana's data source proxy (the WebSocket
 * goes through it, the route adds the API key), and ONE page that is a dashboard of N panels, as
 * in Grafana: the panels' queries go to the one DataSource instance and share its one socket
 * (plugin/test-host/src/host-panel.tsx). A publisher POSTs every 10 ms straight to the collector;
 * each message carries a sequence number `s` and its send time `t`
 * (performance.timeOrigin + performance.now()).
 * The host calls a hook after each panel render is committed to the DOM; the hook installed here
 * reads the `s` and `t` columns of the frames just rendered and records, for every row it sees for
 * the first time, arrival − t: the moment the row is in the panel's DOM, with the plugin's
 * batching (at most one emission per renderIntervalMs, 30 ms, per query, docs/plugin.md) and
 * the host's React render included. A second hook at the response (the plugin's emission) gives
 * the same figure without the render. Rows are read from the frame, not the DOM, so a panel
 * that shows its newest 10 rows in a 300 px panel (a panel-sized table; Grafana's table virtualises its rows) still
 * accounts for every row: a row never rendered is lost, whatever the size of the emission.
 * The publisher uses up to 4 keep-alive connections and the collector keeps the order of requests
 * within one connection only (docs/protocol.md, "Order between requests"), so batches can be
 * stored in another order than `s`: rows are accounted by `s` in a seen-set, not by "follows the
 * last one".
 * The browser's and Node's clocks are both the system clock; their offset is measured with round
 * trips and subtracted. Emissions per second per panel = growth of the host's per-panel response
 * counter (window.__SG_HOST_STATE__.panels[i].responses) over the window.
 *
 * Run by bench/suites/browser.js under tsx; prints one JSON line. Args: quick, profile=<dir>
 * (a CPU profile of the page over each measured window, through the DevTools protocol, written as
 * <dir>/browser-<panels>p-<rate>.cpuprofile; bench/run.js lists their top functions).
 */
import { writeFileSync } from 'node:fs';
import { type IncomingMessage, Agent, request } from 'node:http';
import { resolve } from 'node:path';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { launchChromium } from '../../collector/test/browser/launch-chromium';
import { startHostServer } from '../../plugin/test-host/host-server';
import { DEFAULT_OPTIONS } from '../../plugin/src/types';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startServer, benchCollectorConfig } = require('../lib/server-process');

const quick = process.argv.includes('quick');
const profileDir = process.argv.find((a) => a.startsWith('profile='))?.slice('profile='.length);
const DIST = resolve(__dirname, '../../plugin/dist');
const CHANNEL = 'bench/browser';
const API_KEY = 'sg-bench-browser-key-0123456789abcdef';
/** The plugin's documented emission rate bound: at most one emission per renderIntervalMs per query (docs/plugin.md). */
const DOCUMENTED_EMISSIONS_PER_SECOND = 1000 / DEFAULT_OPTIONS.renderIntervalMs;

// `performance` is the global one (no import): functions passed to page.evaluate must not refer
// to a module binding, or the transform renames it and the page cannot resolve it.
const now = (): number => performance.timeOrigin + performance.now();

/** Newest rows shown per panel: what a panel-sized table shows (every row is still accounted, from the frame). */
const VIEW_ROWS = 10;
/** A dashboard panel's height (Grafana's default panel is 8 grid rows of 30 px plus margins, about 300 px). */
const PANEL_HEIGHT = 300;

/** Per panel, kept in the page by PAGE_PROBE. */
interface PanelProbe {
  /** Pairs (s, arrival − t) at the first render that showed row s. */
  lat: number[];
  /** Pairs (s, emission − t) at the first response that carried row s. */
  emit: number[];
  /** Highest s rendered so far. */
  maxS: number;
  /** Rows whose s was lower than the row before them in the frame (stored out of `s` order). */
  outOfOrder: number;
}
interface Probe {
  panels: PanelProbe[];
  /** s of every row rendered, per panel (a seen-set; `lost` is what the window's range lacks). */
  lostIn(panel: number, from: number, to: number): number;
}

/**
 * Installed in the page before it loads: the host's hooks (plugin/test-host/src/host-panel.tsx).
 * Plain JavaScript text, not a function: the TypeScript transform would wrap named inner functions
 * in a helper (`__name`) that does not exist in the page. Each call scans the frame from its newest
 * row back until ${'`'}SLACK${'`'} rows in a row were already seen (pipelined publishes reorder a few
 * batches at most), so the cost per emission is the rows it added, not the buffer.
 */
const PAGE_PROBE = `(() => {
  const SLACK = 200;
  const panels = [];
  const seenR = [];
  const seenE = [];
  const panel = (i) => {
    while (panels.length <= i) {
      panels.push({ lat: [], emit: [], maxS: -1, outOfOrder: 0 });
      seenR.push(new Set());
      seenE.push(new Set());
    }
    return panels[i];
  };
  const column = (frame, name) => {
    for (const f of frame.fields) if (f.name === name) return f.values;
    return undefined;
  };
  const scan = (frames, seen, out, p) => {
    const now = performance.timeOrigin + performance.now();
    for (const frame of frames) {
      const s = column(frame, 's');
      const t = column(frame, 't');
      if (!s || !t) continue;
      let run = 0;
      for (let k = frame.length - 1; k >= 0 && run < SLACK; k--) {
        const v = s[k];
        if (seen.has(v)) {
          run++;
          continue;
        }
        run = 0;
        seen.add(v);
        out.push(v, now - t[k]);
        if (p) {
          if (v > p.maxS) p.maxS = v;
          if (k > 0 && s[k - 1] > v) p.outOfOrder++;
        }
      }
    }
  };
  window.__SG_BENCH__ = {
    panels,
    lostIn: (i, from, to) => {
      let n = 0;
      for (let v = from; v < to; v++) if (!seenR[i].has(v)) n++;
      return n;
    },
  };
  window.__SG_HOST_HOOKS__ = {
    response: (i, frames) => { panel(i); scan(frames, seenE[i], panels[i].emit, undefined); },
    rendered: (i, frames) => { const p = panel(i); scan(frames, seenR[i], p.lat, p); },
  };
})();`;

/** Browser clock − Node clock, from the round trip with the smallest time. */
async function clockOffset(page: Page): Promise<number> {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 20; i++) {
    const a = now();
    const b = await page.evaluate(() => performance.timeOrigin + performance.now());
    const c = now();
    if (c - a < best.rtt) {
      best = { rtt: c - a, offset: b - (a + c) / 2 };
    }
  }
  return best.offset;
}

function pct(sorted: number[], p: number): number | null {
  if (sorted.length === 0) {
    return null;
  }
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round2 = (x: number | null): number | null => (x === null ? null : Math.round(x * 100) / 100);

/** Publishes `rate` msg/s as one POST every 10 ms, each message stamped with its send time. */
function startPublisher(port: number, firstSeq: number, rate: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  let seq = firstSeq;
  let stopped = false;
  let failures = 0;
  const perTick = rate / 100;
  let owed = 0;
  const t0 = performance.now();
  let ticks = 0;
  const post = (body: string): void => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/publish',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          failures++;
        }
        res.resume();
      },
    );
    req.on('error', () => failures++);
    req.end(body);
  };
  const tick = (): void => {
    if (stopped) {
      return;
    }
    owed += perTick;
    const n = Math.floor(owed);
    owed -= n;
    if (n > 0) {
      const t = now();
      const messages = [];
      for (let i = 0; i < n; i++) {
        messages.push({ channel: CHANNEL, data: { s: seq++, t } });
      }
      post(JSON.stringify({ messages }));
    }
    ticks++;
    // Drift-free schedule: the next tick at t0 + ticks × 10 ms.
    setTimeout(tick, Math.max(0, t0 + ticks * 10 - performance.now()));
  };
  tick();
  return {
    next: () => seq,
    failures: () => failures,
    stop() {
      stopped = true;
      agent.destroy();
    },
  };
}

const probeOf = (page: Page) => page.evaluate(() => (window as unknown as { __SG_BENCH__: Probe }).__SG_BENCH__.panels);
const responsesOf = (page: Page) =>
  page.evaluate(() => (window as any).__SG_HOST_STATE__.panels.map((p: { responses: number }) => p.responses) as number[]);

function percentiles(values: number[]) {
  values.sort((a, b) => a - b);
  return {
    p50: round2(pct(values, 50)),
    p99: round2(pct(values, 99)),
    max: round2(values.length ? values[values.length - 1] : null),
    n: values.length,
  };
}

/**
 * Cumulative main-thread times of the page, seconds (DevTools Performance domain): all tasks,
 * JavaScript, style recalculation and layout. What is left of TaskDuration is paint, parsing, GC...
 */
async function mainThreadMetrics(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const pick = ['TaskDuration', 'ScriptDuration', 'RecalcStyleDuration', 'LayoutDuration'];
  return Object.fromEntries(pick.map((name) => [name, metrics.find((m) => m.name === name)?.value ?? 0]));
}

async function measure(
  page: Page,
  panels: number,
  offset: number,
  port: number,
  seqStart: number,
  rate: number,
  warmS: number,
  measureS: number,
) {
  const pub = startPublisher(port, seqStart, rate);
  try {
    await new Promise((r) => setTimeout(r, warmS * 1000));
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    if (profileDir) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 250 });
      await cdp.send('Profiler.start');
    }
    const from = pub.next();
    const responses0 = await responsesOf(page);
    const metrics0 = await mainThreadMetrics(cdp);
    const tw0 = now();
    await new Promise((r) => setTimeout(r, measureS * 1000));
    const to = pub.next();
    const responses1 = await responsesOf(page);
    const metrics1 = await mainThreadMetrics(cdp);
    const seconds = (now() - tw0) / 1000;
    if (profileDir) {
      const { profile } = await cdp.send('Profiler.stop');
      writeFileSync(resolve(profileDir, `browser-${panels}p-${rate}.cpuprofile`), JSON.stringify(profile));
    }
    await cdp.detach();
    // Wait until every panel has rendered the window's last message (bounded: a lost row shows as lost).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const seen = (await probeOf(page)).map((p) => p.maxS);
      if ((seen.length === panels && seen.every((s) => s >= to - 1)) || Date.now() > deadline) {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const probes = await probeOf(page);
    const rendered: number[] = [];
    const emitted: number[] = [];
    let lost = 0;
    let outOfOrder = 0;
    for (let i = 0; i < panels; i++) {
      const p = probes[i];
      // Pairs (s, arrival − t); the window is [from, to), decided here after the fact.
      for (let k = 0; k < p.lat.length; k += 2) {
        if (p.lat[k] >= from && p.lat[k] < to) {
          rendered.push(p.lat[k + 1] - offset);
        }
      }
      for (let k = 0; k < p.emit.length; k += 2) {
        if (p.emit[k] >= from && p.emit[k] < to) {
          emitted.push(p.emit[k + 1] - offset);
        }
      }
      lost += await page.evaluate(
        ([i, f, t]) => (window as unknown as { __SG_BENCH__: Probe }).__SG_BENCH__.lostIn(i, f, t),
        [i, from, to],
      );
      outOfOrder += p.outOfOrder;
    }
    const emissions = responses1.map((r, i) => (r - responses0[i]) / seconds);
    return {
      rate,
      panels,
      seconds: Math.round(seconds * 10) / 10,
      expectedRows: (to - from) * panels,
      rows: rendered.length,
      /** Rows of the window never rendered by their panel. */
      lost,
      /** Rows stored out of `s` order (pipelined publishes), over the whole run so far: not losses. */
      outOfOrder,
      latencyMs: percentiles(rendered),
      /** Publish → the plugin's emission reaching the panel (before React renders it). */
      emittedMs: percentiles(emitted),
      /** The page's main thread, ms per second of the window (Chromium's Performance.getMetrics). */
      mainThreadMsPerS: Object.fromEntries(Object.keys(metrics1).map((k) => [k, round2(((metrics1[k] - metrics0[k]) * 1000) / seconds)])),
      emissionsPerSecondPerPanel: {
        mean: round2(emissions.reduce((a, b) => a + b, 0) / emissions.length),
        max: round2(Math.max(...emissions)),
      },
      publishFailures: pub.failures(),
      next: pub.next(),
    };
  } finally {
    pub.stop();
  }
}

async function main(): Promise<void> {
  const panelCounts = quick ? [1, 3] : [1, 10];
  const rates = [100, 1_000];
  const warmS = quick ? 1 : 2;
  const measureS = quick ? 2 : 8;
  const base = benchCollectorConfig();
  const collector = await startServer({
    kind: 'collector',
    config: {
      ...base,
      auth: { ...base.auth, keys: [{ name: 'grafana-proxy', key: API_KEY, scopes: { publish: ['**'], subscribe: ['**'] } }] },
      channels: {
        ...base.channels,
        definitions: [
          {
            name: CHANNEL,
            description: 'browser pipe benchmark',
            fields: [
              { name: 's', type: 'number' },
              { name: 't', type: 'number' },
            ],
          },
        ],
      },
    },
  });
  let browser: Browser | undefined;
  const results = [];
  try {
    browser = await launchChromium();
    let seq = 1;
    // A first message so the channel has history and the panels have a row to start from.
    const first = startPublisher(collector.port, seq, 100);
    await new Promise((r) => setTimeout(r, 50));
    first.stop();
    seq = first.next();
    for (const panels of panelCounts) {
      // One dashboard page of `panels` panels sharing the data source (host-panel.tsx).
      const host = await startHostServer({
        distDir: DIST,
        jsonData: { collectorUrl: collector.url, accessMode: 'proxy' },
        secureJsonData: { apiKey: API_KEY },
        query: { channel: CHANNEL, live: true },
        maxRows: VIEW_ROWS,
        panels,
        panelHeight: PANEL_HEIGHT,
      });
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      try {
        await page.addInitScript({ content: PAGE_PROBE });
        await page.goto(host.url);
        // Live: every panel's first emission arrived.
        await page.waitForFunction(
          (n) => ((window as any).__SG_HOST_STATE__?.panels ?? []).filter((p: { responses: number }) => p.responses > 0).length === n,
          panels,
          { timeout: 60_000 },
        );
        if (process.env.SG_BENCH_DEBUG) {
          await new Promise((r) => setTimeout(r, 500));
          process.stderr.write(
            `${await page.evaluate(() => JSON.stringify({ state: (window as any).__SG_HOST_STATE__, row: document.querySelector('[data-testid="row"]')?.outerHTML }))}\n`,
          );
        }
        const offset = await clockOffset(page);
        for (const rate of rates) {
          const r = await measure(page, panels, offset, collector.port, seq, rate, warmS, measureS);
          seq = r.next;
          results.push({ ...r, next: undefined });
        }
      } finally {
        await page.close().catch(() => undefined);
        await host.close();
      }
    }
  } finally {
    await browser?.close();
    await collector.stop();
    collector.cleanup();
  }
  process.stdout.write(
    `${JSON.stringify({ documentedEmissionsPerSecond: DOCUMENTED_EMISSIONS_PER_SECOND, viewRows: VIEW_ROWS, runs: results })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
