/**
 * The browser end of the pipe: publish → row in the plugin's frame, in Chromium.
 *
 * A real collector (bench/lib/server-process.js), the test host (plugin/test-host/host-server.ts)
 * serving the built plugin/dist/module.js and playing Grafana's data source proxy (the WebSocket
 * goes through it, the route adds the API key), and N pages, each one panel: its own plugin
 * instance running a live query on one channel. A publisher POSTs every 10 ms straight to the
 * collector; each message carries its send time `t` (performance.timeOrigin + performance.now()).
 * In each page a MutationObserver sees the host's table rows (data-testid="row", one cell per field
 * with data-field) change and records, for every new message, arrival − t. That is the moment
 * the row is in the panel's DOM: the plugin's batching (at most one emission per renderIntervalMs, 30 ms, per query,
 * docs/plugin.md) and the host's React render are included, as a user would see them.
 * The browser's and Node's clocks are both the system clock; their offset is measured with round
 * trips and subtracted. Emissions per second per panel = growth of the host's response counter
 * (window.__SG_HOST_STATE__.responses) over the window.
 *
 * Run by bench/suites/browser.js under tsx; prints one JSON line. Args: quick.
 */
import { type IncomingMessage, Agent, request } from 'node:http';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../collector/test/browser/launch-chromium';
import { startHostServer } from '../../plugin/test-host/host-server';
import { DEFAULT_OPTIONS } from '../../plugin/src/types';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startServer, benchCollectorConfig } = require('../lib/server-process');

const quick = process.argv.includes('quick');
const DIST = resolve(__dirname, '../../plugin/dist');
const CHANNEL = 'bench/browser';
const API_KEY = 'sg-bench-browser-key-0123456789abcdef';
/** The plugin's documented emission rate bound: at most one emission per renderIntervalMs per query (docs/plugin.md). */
const DOCUMENTED_EMISSIONS_PER_SECOND = 1000 / DEFAULT_OPTIONS.renderIntervalMs;

// `performance` is the global one (no import): functions passed to page.evaluate must not refer
// to a module binding, or the transform renames it and the page cannot resolve it.
const now = (): number => performance.timeOrigin + performance.now();

interface Window {
  from: number;
  to: number;
  lat: number[];
  maxS: number;
  /** Messages that skipped the view: [first s of the hole, size, 1 if the view was full (an emission larger than the host's rows) else 0]. */
  holes: number[];
}

/**
 * Installed in every page before it loads: records arrival − t for each new row. Plain JavaScript
 * text, not a function: the TypeScript transform would wrap named inner functions in a helper
 * (`__name`) that does not exist in the page.
 */
const PAGE_PROBE = `(() => {
  const b = { from: Infinity, to: Infinity, lat: [], maxS: -1, holes: [] };
  window.__SG_BENCH__ = b;
  const scan = () => {
    const t = performance.timeOrigin + performance.now();
    const rows = document.querySelectorAll('[data-testid="row"]');
    let newest = b.maxS;
    let oldestNew = -1;
    let reachedSeen = false;
    for (let k = rows.length - 1; k >= 0; k--) {
      const sCell = rows[k].querySelector('td[data-field="s"]');
      const tCell = rows[k].querySelector('td[data-field="t"]');
      if (!sCell || !tCell) continue;
      const s = Number(sCell.textContent);
      if (!(s > b.maxS)) {
        reachedSeen = true; // rows are in time order: everything above was seen
        break;
      }
      oldestNew = s;
      if (s > newest) newest = s;
      if (s >= b.from) b.lat.push(s, t - Number(tCell.textContent));
    }
    // New rows that do not follow the last one seen: a hole. With every row of the view new, the
    // emission was larger than the view (the host shows the newest rows only); otherwise lost.
    if (b.maxS >= 0 && oldestNew > b.maxS + 1) b.holes.push(b.maxS + 1, oldestNew - b.maxS - 1, reachedSeen ? 0 : 1);
    b.maxS = newest;
  };
  new MutationObserver(scan).observe(document, { childList: true, subtree: true, characterData: true });
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

async function measure(pages: Page[], offsets: number[], port: number, seqStart: number, rate: number, warmS: number, measureS: number) {
  const pub = startPublisher(port, seqStart, rate);
  try {
    await new Promise((r) => setTimeout(r, warmS * 1000));
    const from = pub.next();
    await Promise.all(
      pages.map((p) =>
        p.evaluate((f) => {
          const b = (window as unknown as { __SG_BENCH__: Window }).__SG_BENCH__;
          b.from = f;
          b.to = Infinity;
          b.lat = [];
        }, from),
      ),
    );
    const responses0 = await Promise.all(pages.map((p) => p.evaluate(() => (window as any).__SG_HOST_STATE__.responses as number)));
    const tw0 = now();
    await new Promise((r) => setTimeout(r, measureS * 1000));
    const to = pub.next();
    const responses1 = await Promise.all(pages.map((p) => p.evaluate(() => (window as any).__SG_HOST_STATE__.responses as number)));
    const seconds = (now() - tw0) / 1000;
    // Wait until every page has seen the window's last message (bounded: a lost row shows as missing).
    const deadline = Date.now() + 10_000;
    for (;;) {
      const seen = await Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as { __SG_BENCH__: Window }).__SG_BENCH__.maxS)));
      if (seen.every((s) => s >= to - 1) || Date.now() > deadline) {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const all: number[] = [];
    let outsideView = 0;
    let lost = 0;
    for (let i = 0; i < pages.length; i++) {
      // Pairs (s, arrival − t); the window is [from, to), decided here after the fact.
      const lat = await pages[i].evaluate(() => (window as unknown as { __SG_BENCH__: Window }).__SG_BENCH__.lat);
      const holes = await pages[i].evaluate(() => (window as unknown as { __SG_BENCH__: Window }).__SG_BENCH__.holes);
      for (let k = 0; k < holes.length; k += 3) {
        // Only the part of a hole inside the window counts.
        const n = Math.max(0, Math.min(holes[k] + holes[k + 1], to) - Math.max(holes[k], from));
        if (holes[k + 2] === 1) {
          outsideView += n;
        } else {
          lost += n;
        }
      }
      for (let k = 0; k < lat.length; k += 2) {
        if (lat[k] < to) {
          all.push(lat[k + 1] - offsets[i]);
        }
      }
    }
    all.sort((a, b) => a - b);
    const emissions = responses1.map((r, i) => (r - responses0[i]) / seconds);
    return {
      rate,
      panels: pages.length,
      seconds: Math.round(seconds * 10) / 10,
      expectedRows: (to - from) * pages.length,
      rows: all.length,
      /** Rows of an emission larger than the host's view (never in the DOM, not lost). */
      outsideView,
      /** Rows missing with the view not full: lost on the way. */
      lost,
      latencyMs: {
        p50: round2(pct(all, 50)),
        p99: round2(pct(all, 99)),
        max: round2(all.length ? all[all.length - 1] : null),
        n: all.length,
      },
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
  const host = await startHostServer({
    distDir: DIST,
    jsonData: { collectorUrl: collector.url, accessMode: 'proxy' },
    secureJsonData: { apiKey: API_KEY },
    query: { channel: CHANNEL, live: true },
    // Every row of one emission (100 at 1,000 msg/s and 10 emissions/s; more when an emission is
    // late) stays in the DOM long enough to be seen; a row that never shows counts as not seen.
    maxRows: 400,
  });
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
      const pages: Page[] = [];
      try {
        for (let i = 0; i < panels; i++) {
          const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
          await page.addInitScript({ content: PAGE_PROBE });
          await page.goto(host.url);
          pages.push(page);
        }
        // Live: the panel's first emission arrived.
        const deadline = Date.now() + 60_000;
        for (const p of pages) {
          await p.waitForFunction(() => ((window as any).__SG_HOST_STATE__?.responses ?? 0) > 0, undefined, {
            timeout: Math.max(1_000, deadline - Date.now()),
          });
        }
        if (process.env.SG_BENCH_DEBUG) {
          await new Promise((r) => setTimeout(r, 500));
          process.stderr.write(
            `${await pages[0].evaluate(() => JSON.stringify({ state: (window as any).__SG_HOST_STATE__, row: document.querySelector('[data-testid="row"]')?.outerHTML, bench: { ...(window as any).__SG_BENCH__, lat: undefined } }))}\n`,
          );
        }
        const offsets: number[] = [];
        for (const p of pages) {
          offsets.push(await clockOffset(p));
        }
        for (const rate of rates) {
          const r = await measure(pages, offsets, collector.port, seq, rate, warmS, measureS);
          seq = r.next;
          results.push({ ...r, next: undefined });
        }
      } finally {
        for (const p of pages) {
          await p.close().catch(() => undefined);
        }
      }
    }
  } finally {
    await browser?.close();
    await host.close();
    await collector.stop();
    collector.cleanup();
  }
  process.stdout.write(`${JSON.stringify({ documentedEmissionsPerSecond: DOCUMENTED_EMISSIONS_PER_SECOND, runs: results })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
