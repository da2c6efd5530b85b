/**
 * A plain page in Chromium (no libraries) subscribes through the browser's own WebSocket and
 * EventSource to a real collector process and shows live messages; pages from other origins are
 * refused (cross-site WebSocket hijacking defence) and counted in
 * streamgauge_connections_refused_total{reason="origin"}, unless ws.allowedOrigins lists them: then
 * both transports work, EventSource through CORS. Screenshots: collector/test-results/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { EVENT_TIMEOUT_MS } from '../helpers/deadlines';
import { launchChromium } from './launch-chromium';
import { type PageServer, startPageServer } from './page-server';
/** The page's DOM as the waitForFunction callbacks below use it (the collector's tsconfig has no "dom" lib). */
declare const document: {
  getElementById(id: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

/** Declared up front: subscribing to a channel that does not exist yet is SG_UNKNOWN_CHANNEL. */
const CHANNELS = {
  channels: { definitions: [{ name: 'browser/plain' }, { name: 'browser/foreign' }, { name: 'browser/allowed' }] },
};
const SHOTS = join(__dirname, '..', '..', 'test-results');

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
    await page.waitForFunction(
      ([i, src]) => new RegExp(src).test(document.getElementById(i)?.textContent ?? ''),
      [id, wanted.source] as const,
      {
        timeout: EVENT_TIMEOUT_MS,
      },
    );
  } catch (err) {
    throw new Error(`#${id} never matched ${wanted}: it shows "${await statusText(page, id)}" (${(err as Error).message.split('\n')[0]})`);
  }
}

async function waitForItems(page: Page, id: string, n: number): Promise<void> {
  await page.waitForFunction(([i, count]) => document.querySelectorAll(`#${i} li`).length >= count, [id, n] as const, {
    timeout: EVENT_TIMEOUT_MS,
  });
}

describe('plain browser page (no libraries) against a real collector', () => {
  let collector: CollectorProcess | undefined;
  let allowing: CollectorProcess | undefined;
  let browser: Browser | undefined;
  /** Another origin, page only: foreign to both collectors. */
  let foreign: PageServer | undefined;
  /** The page and `collector` on one origin, as behind a reverse proxy. */
  let sameOrigin: PageServer | undefined;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    foreign = await startPageServer();
    [collector, allowing, browser] = await Promise.all([
      startCollector({ config: CHANNELS }),
      // Lists the foreign page's origin: only that origin may open the WebSocket.
      startCollector({ config: CHANNELS, env: { SG_ALLOWED_ORIGINS: foreign.origin } }),
      launchChromium(),
    ]);
    sameOrigin = await startPageServer({ proxyTo: collector.url });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([sameOrigin?.close(), foreign?.close()]);
    await Promise.all([collector?.stop(), allowing?.stop()]);
    collector?.cleanup();
    allowing?.cleanup();
  });

  test('a page on the same origin as the collector shows live messages from its own WebSocket and from EventSource', async () => {
    const c = collector!;
    const page = await browser!.newPage({ viewport: { width: 1000, height: 500 } });
    try {
      // Default ws.allowedOrigins: same host only. The page's origin reaches the collector through
      // a Host-preserving pipe (page-server.ts), so `new WebSocket('ws://<page host>/ws')` and
      // `new EventSource('/api/v1/stream?…')` are same-origin and pass the check.
      await page.goto(`${sameOrigin!.origin}/plain-page.html?channel=browser/plain`);
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
      await page.goto(
        `${foreign!.origin}/plain-page.html?channel=browser/foreign&ws=${encodeURIComponent(c.wsUrl)}&sse=${encodeURIComponent(c.url)}`,
      );
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

  test('a foreign origin listed in SG_ALLOWED_ORIGINS opens the WebSocket and the EventSource (CORS) and receives live messages', async () => {
    const c = allowing!;
    const wsBefore = await refusedCount(c.url, 'ws', 'origin');
    const sseBefore = await refusedCount(c.url, 'sse', 'origin');
    const page = await browser!.newPage({ viewport: { width: 1000, height: 400 } });
    try {
      // Cross-origin EventSource: the browser reads the stream only because the collector answers
      // the listed origin with Access-Control-Allow-Origin (the WebSocket needs no CORS, only the
      // collector's Origin check).
      await page.goto(
        `${foreign!.origin}/plain-page.html?channel=browser/allowed&ws=${encodeURIComponent(c.wsUrl)}&sse=${encodeURIComponent(c.url)}`,
      );
      await waitForStatus(page, 'ws-status', /^subscribed$/);
      await waitForStatus(page, 'sse-status', /^subscribed$/);
      const r = await publish(c.url, { messages: [{ channel: 'browser/allowed', data: { ok: true } }] });
      expect(r.status).toBe(200);
      await waitForItems(page, 'ws-list', 1);
      await waitForItems(page, 'sse-list', 1);
      expect(await listTexts(page, 'ws-list')).toEqual(['1 {"ok":true}']);
      expect(await listTexts(page, 'sse-list')).toEqual(['1 {"ok":true}']);
      expect(await statusText(page, 'ws-status')).toBe('subscribed');
      expect(await statusText(page, 'sse-status')).toBe('subscribed');
      expect(await refusedCount(c.url, 'ws', 'origin')).toBe(wsBefore);
      expect(await refusedCount(c.url, 'sse', 'origin')).toBe(sseBefore);
      await page.screenshot({ path: join(SHOTS, 'plain-page-foreign-allowed.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });
});
