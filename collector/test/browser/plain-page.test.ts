/**
 * A plain page in Chromium (no libraries) subscribes through the browser's own WebSocket and
 * EventSource to a real collector process and shows live messages; pages from other origins are
 * refused (cross-site WebSocket hijacking defence) and counted in
 * streamgauge_connections_refused_total{reason="origin"}. Screenshots: collector/test-results/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { launchChromium } from './launch-chromium';

const PAGE_HTML = readFileSync(join(__dirname, 'plain-page.html'), 'utf8');
/** Declared up front: subscribing to a channel that does not exist yet is SG_UNKNOWN_CHANNEL. */
const CHANNELS = {
  channels: { definitions: [{ name: 'browser/plain' }, { name: 'browser/foreign' }, { name: 'browser/allowed' }] },
};
const SHOTS = join(__dirname, '..', '..', 'test-results');

/** Serves the plain page at every path: a second origin, foreign to the collector. */
function startPageServer(): Promise<{ server: Server; origin: string }> {
  return new Promise((resolve, reject) => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE_HTML);
    });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

/** The value of one sample of streamgauge_connections_refused_total (0 when absent). */
async function refusedCount(baseUrl: string, transport: string, reason: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith('streamgauge_connections_refused_total{')) {
      continue;
    }
    if (line.includes(`transport="${transport}"`) && line.includes(`reason="${reason}"`)) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

const listTexts = (page: Page, id: string): Promise<string[]> => page.$$eval(`#${id} li`, (els) => els.map((e) => e.textContent ?? ''));
const statusText = (page: Page, id: string): Promise<string> => page.$eval(`#${id}`, (e) => e.textContent ?? '');

async function waitForStatus(page: Page, id: string, wanted: RegExp): Promise<void> {
  try {
    await page.waitForFunction(([i, src]) => new RegExp(src).test(document.getElementById(i)?.textContent ?? ''), [id, wanted.source] as const, {
      timeout: 15_000,
    });
  } catch (err) {
    throw new Error(`#${id} never matched ${wanted}: it shows "${await statusText(page, id)}" (${(err as Error).message.split('\n')[0]})`);
  }
}

async function waitForItems(page: Page, id: string, n: number): Promise<void> {
  await page.waitForFunction(([i, count]) => document.querySelectorAll(`#${i} li`).length >= count, [id, n] as const, { timeout: 15_000 });
}

describe('plain browser page (no libraries) against a real collector', () => {
  let collector: CollectorProcess | undefined;
  let allowing: CollectorProcess | undefined;
  let browser: Browser | undefined;
  let pages: { server: Server; origin: string } | undefined;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    pages = await startPageServer();
    [collector, allowing, browser] = await Promise.all([
      startCollector({ config: CHANNELS }),
      // Lists the page server's origin: only that foreign origin may open the WebSocket.
      startCollector({ config: CHANNELS, env: { SG_ALLOWED_ORIGINS: pages.origin } }),
      launchChromium(),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([collector?.stop(), allowing?.stop()]);
    collector?.cleanup();
    allowing?.cleanup();
    await new Promise<void>((r) => (pages ? pages.server.close(() => r()) : r()));
  });

  test("a page served from the collector's origin shows live messages from its own WebSocket and from EventSource", async () => {
    const c = collector!;
    const page = await browser!.newPage({ viewport: { width: 1000, height: 500 } });
    try {
      // The collector serves no HTML, so the page is written into a document the collector served
      // (/healthz), which gives it the collector's origin. Chromium's Local Network Access checks
      // block a page fulfilled by the test harness from opening sockets to 127.0.0.1, and a
      // cross-origin EventSource would need CORS: the collector's own origin is the honest setup.
      await page.goto(`${c.url}/healthz?channel=browser/plain`);
      await page.setContent(PAGE_HTML);
      await waitForStatus(page, 'ws-status', /^subscribed$/);
      await waitForStatus(page, 'sse-status', /^subscribed$/);

      const sent = [
        { n: 1, label: 'one' },
        { n: 2, label: 'two' },
        { n: 3, label: 'three' },
      ];
      const r = await publish(c.url, { messages: sent.map((data) => ({ channel: 'browser/plain', data })) });
      expect(r.status).toBe(200);
      await waitForItems(page, 'ws-list', 3);
      await waitForItems(page, 'sse-list', 3);

      const expected = ['1 {"n":1,"label":"one"}', '2 {"n":2,"label":"two"}', '3 {"n":3,"label":"three"}'];
      expect(await listTexts(page, 'ws-list')).toEqual(expected);
      expect(await listTexts(page, 'sse-list')).toEqual(expected);

      // Live, not a replay: a message published later arrives on both.
      await publish(c.url, { messages: [{ channel: 'browser/plain', data: { n: 4, label: 'four' } }] });
      await waitForItems(page, 'ws-list', 4);
      await waitForItems(page, 'sse-list', 4);
      expect((await listTexts(page, 'ws-list'))[3]).toBe('4 {"n":4,"label":"four"}');
      expect((await listTexts(page, 'sse-list'))[3]).toBe('4 {"n":4,"label":"four"}');
      await page.screenshot({ path: join(SHOTS, 'plain-page-live.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  test('a page from a foreign origin is refused on both transports, counted as reason="origin"', async () => {
    const c = collector!;
    const wsBefore = await refusedCount(c.url, 'ws', 'origin');
    const sseBefore = await refusedCount(c.url, 'sse', 'origin');
    const page = await browser!.newPage({ viewport: { width: 1000, height: 400 } });
    try {
      await page.goto(`${pages!.origin}/plain-page.html?channel=browser/foreign&ws=${encodeURIComponent(c.wsUrl)}&sse=${encodeURIComponent(c.url)}`);
      // The upgrade is answered 403 (SG_ORIGIN_FORBIDDEN); a browser only sees 1006.
      await waitForStatus(page, 'ws-status', /^closed 1006$/);
      await waitForStatus(page, 'sse-status', /^failed$/);
      expect(await refusedCount(c.url, 'ws', 'origin')).toBe(wsBefore + 1);
      expect(await refusedCount(c.url, 'sse', 'origin')).toBe(sseBefore + 1);
      expect(await listTexts(page, 'ws-list')).toEqual([]);
      await page.screenshot({ path: join(SHOTS, 'plain-page-foreign-refused.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  test('a foreign origin listed in SG_ALLOWED_ORIGINS opens the WebSocket and receives live messages', async () => {
    const c = allowing!;
    const before = await refusedCount(c.url, 'ws', 'origin');
    const page = await browser!.newPage({ viewport: { width: 1000, height: 400 } });
    try {
      // EventSource is left out: a cross-origin EventSource needs CORS headers, which the
      // collector does not send (docs/testing-browser.md).
      await page.goto(`${pages!.origin}/plain-page.html?channel=browser/allowed&ws=${encodeURIComponent(c.wsUrl)}&sse=none`);
      await waitForStatus(page, 'ws-status', /^subscribed$/);
      const r = await publish(c.url, { messages: [{ channel: 'browser/allowed', data: { ok: true } }] });
      expect(r.status).toBe(200);
      await waitForItems(page, 'ws-list', 1);
      expect(await listTexts(page, 'ws-list')).toEqual(['1 {"ok":true}']);
      expect(await statusText(page, 'ws-status')).toBe('subscribed');
      expect(await refusedCount(c.url, 'ws', 'origin')).toBe(before);
    } finally {
      await page.close();
    }
  });
});
