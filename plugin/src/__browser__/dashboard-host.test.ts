/**
 * @jest-environment ./src/__browser__/node-environment.js
 */
/**
 * A dashboard in Chromium: the test host with several panels (plugin/test-host/src/host-panel.tsx),
 * each running the live query through the one DataSource instance, as Grafana's panels share it.
 * Proves: the built plugin serves every panel over ONE WebSocket (one proxied upgrade), every panel
 * shows every published row in order, and the host's render hook (what the browser benchmark
 * measures with, bench/browser/pipe-bench.ts) is called per panel with the rows the panel shows.
 */
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { type CollectorProcess, publish, startCollector } from '../../../collector/test/helpers/collector-process';
import { launchChromium } from '../../../collector/test/browser/launch-chromium';
import { type HostServer, startHostServer } from '../../test-host/host-server';

const DIST = resolve(process.env.SG_TEST_PLUGIN_DIST ?? join(__dirname, '..', '..', 'dist'));
const CHANNEL = 'browser/dashboard';
const API_KEY = 'sg-dashboard-host-key-0123456789abcdef';
const AUTH = { authorization: `Bearer ${API_KEY}` };
const PANELS = 3;

/** Installed before the page loads: records, per panel, the `n` values of every rendered frame. */
const HOOK = `(() => {
  const seen = [];
  window.__SG_TEST_RENDERED__ = seen;
  window.__SG_HOST_HOOKS__ = {
    rendered: (panel, frames) => {
      while (seen.length <= panel) seen.push([]);
      for (const f of frames) {
        const n = f.fields.find((x) => x.name === 'n');
        if (n) seen[panel] = Array.from(n.values);
      }
    },
  };
})();`;

const labelsIn = (page: Page, panel: number): Promise<string[]> =>
  page.$$eval(`[data-testid="panel"][data-panel="${panel}"] [data-testid="row"] td[data-field="label"]`, (els) =>
    els.map((e) => (e.textContent ?? '').trim())
  );

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('built plugin in Chromium: a dashboard of panels sharing the data source', () => {
  let browser: Browser | undefined;
  let collector: CollectorProcess | undefined;
  let host: HostServer | undefined;
  let page: Page | undefined;

  beforeAll(async () => {
    browser = await launchChromium();
    collector = await startCollector({
      config: {
        auth: { keys: [{ name: 'grafana-proxy', key: API_KEY, scopes: { publish: ['**'], subscribe: ['**'] } }] },
        channels: {
          definitions: [
            {
              name: CHANNEL,
              description: 'dashboard host test channel',
              fields: [
                { name: 'n', type: 'number' },
                { name: 'label', type: 'string' },
              ],
            },
          ],
        },
      },
    });
    host = await startHostServer({
      distDir: DIST,
      jsonData: { collectorUrl: collector.url, accessMode: 'proxy' },
      secureJsonData: { apiKey: API_KEY },
      query: { channel: CHANNEL, live: true },
      panels: PANELS,
      panelHeight: 300,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.addInitScript({ content: HOOK });
    await page.goto(host.url);
  });

  afterAll(async () => {
    await page?.close().catch(() => undefined);
    await browser?.close();
    await host?.close();
    await collector?.stop();
    collector?.cleanup();
  });

  test('every panel shows every row, in order, over one proxied WebSocket', async () => {
    const p = page!;
    await waitFor('every panel live', () =>
      p.evaluate(
        (n) =>
          ((window as any).__SG_HOST_STATE__?.panels ?? []).filter((x: { responses: number }) => x.responses > 0)
            .length === n,
        PANELS
      )
    );
    await waitFor('the proxied upgrade', async () => host!.proxy.upgrades() >= 1);
    const labels = ['one', 'two', 'three', 'four', 'five'];
    for (const [i, label] of labels.entries()) {
      const r = await publish(collector!.url, { messages: [{ channel: CHANNEL, data: { n: i + 1, label } }] }, AUTH);
      expect(r.status).toBe(200);
    }
    for (let panel = 1; panel <= PANELS; panel++) {
      await waitFor(`panel ${panel}'s rows`, async () => (await labelsIn(p, panel)).length >= labels.length);
      expect(await labelsIn(p, panel)).toEqual(labels);
    }
    // The render hook saw, for each panel, the rows that panel rendered.
    const rendered = await p.evaluate(() => (window as any).__SG_TEST_RENDERED__ as number[][]);
    expect(rendered).toEqual(Array.from({ length: PANELS }, () => [1, 2, 3, 4, 5]));
    // Grafana keeps one DataSourceApi per data source: all panels' queries share its one socket.
    // (The connection test of "Save & test", run by the host at load, opens and closes its own.)
    await waitFor('one open proxied socket for all panels', async () => host!.proxy.openSockets() === 1);
    expect(host!.proxy.upgrades()).toBeLessThanOrEqual(2);
    expect((await p.evaluate(() => (window as any).__SG_HOST_STATE__.panels.length)) as number).toBe(PANELS);
  });
});
