/**
 * @jest-environment ./src/__browser__/node-environment.js
 */
/**
 * The built plugin in Chromium (test host, Grafana-faithful proxy) against a real collector running
 * the demo's IPTV traffic: the connections entity channel shown as current state has one row per
 * open connection, the same keys as the collector's snapshot; the aggregates are one row per group.
 * With SG_UPDATE_SCREENSHOTS=1 it rewrites docs/images/current-state-connections.png (linked from
 * docs/plugin.md); otherwise it only checks that the screenshot can be taken, so a test run leaves
 * the git tree clean (docs/testing-browser.md).
 */
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { type CollectorProcess, startCollector } from '../../../collector/test/helpers/collector-process';
import { launchChromium } from '../../../collector/test/browser/launch-chromium';
import { type HostServer, startHostServer } from '../../test-host/host-server';

const DIST = resolve(process.env.SG_TEST_PLUGIN_DIST ?? join(__dirname, '..', '..', 'dist'));
const IMAGES = join(__dirname, '..', '..', '..', 'docs', 'images');
const API_KEY = 'sg-current-state-key-0123456789abcdef';
/** Rewrite the documentation's screenshots only when asked (docs/testing-browser.md). */
const UPDATE_SCREENSHOTS = process.env.SG_UPDATE_SCREENSHOTS === '1';

const column = (page: Page, field: string): Promise<string[]> =>
  page.$$eval(`[data-testid="row"] td[data-field="${field}"]`, (els) => els.map((e) => (e.textContent ?? '').trim()));

async function snapshotKeys(collector: CollectorProcess, channel: string): Promise<string[]> {
  const r = await fetch(`${collector.url}/api/v1/snapshot?channel=${channel}`, {
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  const body = (await r.json()) as { messages: Array<{ key: string }> };
  return body.messages.map((m) => m.key).sort();
}

describe('built plugin in Chromium: current state of the demo IPTV entities', () => {
  let browser: Browser | undefined;
  let collector: CollectorProcess | undefined;
  const hosts: HostServer[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    collector = await startCollector({
      args: ['--demo'],
      config: {
        auth: { keys: [{ name: 'grafana-proxy', key: API_KEY, scopes: { publish: ['**'], subscribe: ['**'] } }] },
      },
    });
  });

  afterAll(async () => {
    for (const h of hosts) {
      await h.close();
    }
    await browser?.close();
    await collector?.stop();
    collector?.cleanup();
  });

  async function open(query: Record<string, unknown>): Promise<Page> {
    const host = await startHostServer({
      distDir: DIST,
      jsonData: { collectorUrl: collector!.url, accessMode: 'proxy' },
      secureJsonData: { apiKey: API_KEY },
      query: { live: true, ...query },
      maxRows: 1_000,
    });
    hosts.push(host);
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(host.url);
    return page;
  }

  test('rows are the open connections: the same keys as the collector snapshot, one row each', async () => {
    const page = await open({
      channel: 'iptv/connections',
      fields: ['id', 'country', 'city', 'stream', 'bitrate_bps', 'latitude', 'longitude'],
    });
    // The demo opens and closes connections all the time: wait for a moment where page and
    // collector agree (the page lags by at most one render interval).
    let last = { page: [] as string[], collector: [] as string[] };
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ids = (await column(page, 'id')).sort();
      const keys = await snapshotKeys(collector!, 'iptv/connections');
      last = { page: ids, collector: keys };
      if (ids.length > 0 && ids.join() === keys.join()) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`page and snapshot never agreed: ${JSON.stringify(last)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(new Set(last.page).size).toBe(last.page.length);
    const png = await page.screenshot({
      path: UPDATE_SCREENSHOTS ? join(IMAGES, 'current-state-connections.png') : undefined,
      clip: { x: 0, y: 0, width: 1280, height: 900 },
    });
    // A PNG (its 8-byte signature), whether or not it was written to docs/images.
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    await page.close();
  });

  test('aggregates as current values: one row per country group, with its live count', async () => {
    const page = await open({
      channel: 'iptv/connections/aggregates',
      filter: 'group = country',
      fields: ['dimension', 'value', 'count'],
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      const dims = await column(page, 'dimension');
      if (dims.length > 0) {
        expect(new Set(dims).size).toBe(dims.length);
        expect(dims.every((d) => d.startsWith('country='))).toBe(true);
        break;
      }
      if (Date.now() > deadline) {
        throw new Error('no aggregate rows');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.close();
  });
});
