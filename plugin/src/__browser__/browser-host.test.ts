/**
 * @jest-environment ./src/__browser__/node-environment.js
 */
/**
 * The built plugin (dist/module.js, built by `npm run build -w plugin` before the tests) in
 * Chromium, loaded by the test host the way Grafana loads plugins (AMD, shared @grafana/*, react,
 * rxjs), with the host playing Grafana's data source proxy in front of a real collector process.
 * Proves: the bundle's externals are all provided by a Grafana-like host; the editors render with
 * the real @grafana/ui; testDatasource and a live query go through the proxy (REST and the
 * WebSocket upgrade, with the route's Authorization header added) and rows arrive as published;
 * and in direct mode, the socket goes straight to the collector with a token minted via the proxy.
 * Screenshots: plugin/test-results/*.png. See docs/testing-browser.md.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import pluginJson from '../plugin.json';
import {
  type CollectorProcess,
  freePort,
  publish,
  startCollector,
} from '../../../collector/test/helpers/collector-process';
import { launchChromium } from '../../../collector/test/browser/launch-chromium';
import { WsTestClient } from '../../../collector/test/helpers/ws-test-client';
import { type HostServer, startHostServer } from '../../test-host/host-server';

/** The built plugin; SG_TEST_PLUGIN_DIST points elsewhere (e.g. a build made with --output-path). */
const DIST = resolve(process.env.SG_TEST_PLUGIN_DIST ?? join(__dirname, '..', '..', 'dist'));
const SHOTS = join(__dirname, '..', '..', 'test-results');
const CHANNEL = 'browser/host';
/** Picked in the QueryEditor by the test, like a user would. */
const OTHER = 'browser/other';
const FIELDS = [
  { name: 'value', type: 'number' },
  { name: 'label', type: 'string' },
];
/** The secret the proxy adds (plugin.json route header); the page must never see it. */
const API_KEY = 'sg-browser-host-key-0123456789abcdef';

/** What the host page exposes (plugin/test-host/src/host-main.tsx, HostState). */
interface HostStateView {
  phase: string;
  error?: string;
  health?: { status: string; message: string };
}
const hostState = (page: Page): Promise<HostStateView> =>
  page.evaluate(() => (window as unknown as { __SG_HOST_STATE__: HostStateView }).__SG_HOST_STATE__);

const AUTH = { authorization: `Bearer ${API_KEY}` };

/** Frames shown by the host: name and label column, newest response only. */
async function framesShown(page: Page): Promise<Array<{ caption: string; labels: string[] }>> {
  return page.$$eval('[data-testid="frame"]', (tables) =>
    tables.map((t) => ({
      caption: (t.querySelector('caption')?.textContent ?? '').trim(),
      labels: [...t.querySelectorAll('td[data-field="label"]')].map((td) => td.textContent ?? ''),
    }))
  );
}

/** One sample of the collector's /metrics (`name` may include labels, e.g. `x{transport="ws"}`). */
async function metric(baseUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Text and input values of the QueryEditor (pickers show their value in an input or as text). */
async function editorShows(page: Page): Promise<string> {
  return page.$eval('[data-testid="query-editor"]', (el) =>
    [el.textContent ?? '', ...[...el.querySelectorAll('input')].map((i) => (i as HTMLInputElement).value)].join('\n')
  );
}

const texts = (page: Page, selector: string): Promise<string[]> =>
  page.$$eval(selector, (els) => els.map((e) => (e.textContent ?? '').trim()));

/** Cell texts of the data rows, per field name, in row order. */
async function column(page: Page, field: string): Promise<string[]> {
  return texts(page, `[data-testid="row"] td[data-field="${field}"]`);
}

async function waitFor(
  page: Page,
  what: string,
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 20_000
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; host state: ${JSON.stringify(await hostState(page))}`);
}

let browser: Browser | undefined;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

/**
 * A collector that requires API_KEY: it refuses requests without it, so rows arriving in the page
 * prove the proxy added the route's Authorization header upstream.
 */
function startKeyedCollector(env: Record<string, string> = {}): Promise<CollectorProcess> {
  return startCollector({
    env,
    config: {
      auth: { keys: [{ name: 'grafana-proxy', key: API_KEY, scopes: { publish: ['**'], subscribe: ['**'] } }] },
      channels: {
        definitions: [
          { name: CHANNEL, description: 'browser host test channel', fields: FIELDS },
          { name: OTHER, description: 'picked in the QueryEditor', fields: FIELDS },
        ],
      },
    },
  });
}

describe('built plugin in Chromium, proxy mode (everything through the Grafana-like data source proxy)', () => {
  let collector: CollectorProcess | undefined;
  let host: HostServer | undefined;
  let page: Page | undefined;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    collector = await startKeyedCollector();
    host = await startHostServer({
      distDir: DIST,
      jsonData: { collectorUrl: collector.url, accessMode: 'proxy' },
      secureJsonData: { apiKey: API_KEY },
      query: { channel: CHANNEL, live: true },
    });
    page = await browser!.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(host.url);
  });

  afterAll(async () => {
    await page?.close().catch(() => undefined);
    await host?.close();
    await collector?.stop();
    collector?.cleanup();
  });

  test('module.js loads as an AMD module with only the shared modules a Grafana host provides', async () => {
    await waitFor(page!, 'the plugin to load', async () => (await hostState(page!))?.phase !== 'booting');
    const state = await hostState(page!);
    expect(state.error).toBeUndefined();
    expect(state.phase).toBe('loaded');
    expect(pageErrors).toEqual([]);
  });

  test('the ConfigEditor renders with the real @grafana/ui, showing the saved settings but not the API key', async () => {
    const p = page!;
    await p.waitForSelector('[data-testid="config-editor"] label');
    const labels = await texts(p, '[data-testid="config-editor"] label');
    // `*`: Collector URL is a required field.
    expect(labels).toEqual(
      expect.arrayContaining(['Access', 'Collector URL *', 'API key', 'Polling interval (ms)', 'Render interval (ms)'])
    );
    // The collector URL comes from jsonData; the key is only flagged as configured (secureJsonFields).
    const values = await p.$$eval('[data-testid="config-editor"] input', (els) =>
      els.map((e) => (e as HTMLInputElement).value)
    );
    expect(values).toContain(collector!.url);
    expect(await p.content()).not.toContain(API_KEY);
    await p.screenshot({
      path: join(SHOTS, 'browser-host-editors.png'),
      clip: { x: 0, y: 0, width: 1280, height: 520 },
    });
  });

  test('the QueryEditor renders and lists the channels it fetched through the proxy', async () => {
    const p = page!;
    await p.waitForSelector('[data-testid="query-editor"] label');
    const labels = await texts(p, '[data-testid="query-editor"] label');
    expect(labels).toEqual(expect.arrayContaining(['Channel', 'Fields', 'Filter', 'Buffer', 'Window (s)', 'Live']));
    await waitFor(p, 'GET /api/v1/channels through the proxy', () =>
      host!.proxied.some((r) => r.kind === 'http' && r.proxyPath.startsWith('/sg/api/v1/channels') && r.status === 200)
    );
    // The query's channel is shown in the Channel picker.
    await waitFor(p, 'the channel in the picker', async () => (await editorShows(p)).includes(CHANNEL));
  });

  test('"Save & test" (testDatasource) succeeds through the proxy', async () => {
    const p = page!;
    await waitFor(p, 'testDatasource to finish', async () => {
      const h = await p.textContent('[data-testid="health"]');
      return !!h && !/^(not tested|testing)/.test(h);
    });
    const { health } = await hostState(p);
    expect(health?.status).toBe('success');
  });

  test('a live query shows published rows with their exact values, over the proxied WebSocket with the route header', async () => {
    const p = page!;
    // The plugin's socket goes through the proxy; wait for the upgrade to be accepted upstream.
    await waitFor(p, 'a proxied WebSocket upgrade', () =>
      host!.proxied.some((r) => r.kind === 'upgrade' && r.status === 101)
    );
    await waitFor(
      p,
      'the live query to be running',
      async () => (await p.textContent('[data-testid="query-status"]'))?.startsWith('response') ?? false
    );
    const sent = [
      { value: 1.5, label: 'alpha' },
      { value: 2.25, label: 'beta' },
      { value: -3, label: 'gamma' },
    ];
    const r = await publish(collector!.url, { messages: sent.map((data) => ({ channel: CHANNEL, data })) }, AUTH);
    expect(r.status).toBe(200);
    await waitFor(p, 'three rows in the page', async () => (await column(p, 'label')).length >= 3);
    expect(await column(p, 'label')).toEqual(['alpha', 'beta', 'gamma']);
    expect(await column(p, 'value')).toEqual(['1.5', '2.25', '-3']);
    await p.screenshot({ path: join(SHOTS, 'browser-host-live.png'), fullPage: true });

    // And later messages keep arriving live.
    await publish(collector!.url, { messages: [{ channel: CHANNEL, data: { value: 4, label: 'delta' } }] }, AUTH);
    await waitFor(p, 'the fourth row', async () => (await column(p, 'label')).length >= 4);
    expect(await column(p, 'label')).toEqual(['alpha', 'beta', 'gamma', 'delta']);

    // Every proxied request and upgrade used one of plugin.json's Viewer routes (a panel never needs
    // the Admin catch-all `sg`) and carried its header.
    const upgrades = host!.proxied.filter((x) => x.kind === 'upgrade');
    expect(upgrades.length).toBeGreaterThanOrEqual(1);
    const viewerRoutes = pluginJson.routes.filter((r) => r.reqRole === 'Viewer').map((r) => r.path);
    for (const rec of host!.proxied) {
      expect(viewerRoutes).toContain(rec.route);
      expect(rec.headersAdded).toEqual(['Authorization']);
    }
    expect(upgrades[0].target).toBe(`${collector!.url}/ws`);
  });

  test('picking another channel in the QueryEditor re-runs the query on the same socket and shows its rows', async () => {
    const p = page!;
    const upgradesBefore = host!.proxied.filter((x) => x.kind === 'upgrade').length;
    const r = await publish(
      collector!.url,
      { messages: [{ channel: OTHER, data: { value: 10, label: 'other-1' } }] },
      AUTH
    );
    expect(r.status).toBe(200);
    // The Channel picker is the first input of the editor: type, then click the option, as a user does.
    const picker = p.locator('[data-testid="query-editor"] input').first();
    await picker.click();
    await picker.fill(OTHER);
    await p.locator('[role="option"]', { hasText: OTHER }).first().click();
    // History for the time range, then live.
    await waitFor(p, `the ${OTHER} frame`, async () =>
      (await framesShown(p)).some((f) => f.labels.includes('other-1'))
    );
    await publish(collector!.url, { messages: [{ channel: OTHER, data: { value: 11, label: 'other-2' } }] }, AUTH);
    await waitFor(p, 'the live row on the new channel', async () => (await column(p, 'label')).includes('other-2'));
    const frames = await framesShown(p);
    expect(frames).toHaveLength(1);
    expect(frames[0].caption).toContain(OTHER);
    expect(frames[0].labels).toEqual(['other-1', 'other-2']);
    // One WebSocket per data source: switching channels subscribes on the socket already open,
    // and the previous run's subscription is released (Grafana unsubscribes the old query).
    expect(host!.proxied.filter((x) => x.kind === 'upgrade').length).toBe(upgradesBefore);
    await waitFor(
      p,
      'exactly one subscription at the collector',
      async () => (await metric(collector!.url, 'streamgauge_subscriptions')) === 1
    );
    expect(await metric(collector!.url, 'streamgauge_clients{transport="ws"}')).toBe(1);
  });

  test('after the collector restarts, the plugin reconnects through the proxy and resumes without duplicates', async () => {
    const p = page!;
    const upgradesBefore = host!.proxied.filter((x) => x.kind === 'upgrade' && x.status === 101).length;
    collector = await collector!.restart();
    await waitFor(
      p,
      'a new proxied upgrade after the restart',
      () => host!.proxied.filter((x) => x.kind === 'upgrade' && x.status === 101).length > upgradesBefore,
      30_000
    );
    await publish(collector.url, { messages: [{ channel: OTHER, data: { value: 12, label: 'after-restart' } }] }, AUTH);
    await waitFor(
      p,
      'the row published after the restart',
      async () => (await column(p, 'label')).includes('after-restart'),
      30_000
    );
    const frames = await framesShown(p);
    expect(frames).toHaveLength(1);
    expect(frames[0].labels).toEqual(['other-1', 'other-2', 'after-restart']);
    expect(await p.textContent('[data-testid="query-editor"]')).toContain('Connection: connected');
    // One socket again, with the one subscription: reconnecting left nothing behind.
    expect(await metric(collector.url, 'streamgauge_clients{transport="ws"}')).toBe(1);
    expect(await metric(collector.url, 'streamgauge_subscriptions')).toBe(1);
    await p.screenshot({ path: join(SHOTS, 'browser-host-after-restart.png'), fullPage: true });
  });

  test('without the header the proxy adds, the collector refuses the same request (SG_UNAUTHORIZED)', async () => {
    const res = await fetch(`${collector!.url}/api/v1/channels`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SG_UNAUTHORIZED');
    const viaProxy = await fetch(`${host!.url}/api/datasources/proxy/uid/sg-test/sg/api/v1/channels`);
    expect(viaProxy.status).toBe(200);
    expect(viaProxy.headers.get('via')).toBe('1.1 grafana');
    // A socket without the header may open, but may not subscribe until it authenticates.
    const bare = await WsTestClient.connect(collector!.wsUrl);
    try {
      const reply = await bare.subscribe(CHANNEL);
      expect(reply.type).toBe('error');
      expect(reply.code).toBe('SG_UNAUTHORIZED');
    } finally {
      bare.close();
    }
  });
});

describe('built plugin in Chromium, direct mode (socket straight to the collector, token through the proxy)', () => {
  let collector: CollectorProcess | undefined;
  let host: HostServer | undefined;
  let page: Page | undefined;

  beforeAll(async () => {
    // The page's origin must be allowed by the collector: the browser connects to it directly.
    const hostPort = await freePort();
    collector = await startKeyedCollector({ SG_ALLOWED_ORIGINS: `http://127.0.0.1:${hostPort}` });
    host = await startHostServer({
      distDir: DIST,
      port: hostPort,
      uid: 'sg-direct',
      jsonData: { collectorUrl: collector.url, accessMode: 'direct', directUrl: collector.url },
      secureJsonData: { apiKey: API_KEY },
      query: { channel: CHANNEL, live: true },
    });
    page = await browser!.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(host.url);
  });

  afterAll(async () => {
    await page?.close().catch(() => undefined);
    await host?.close();
    await collector?.stop();
    collector?.cleanup();
  });

  test('rows arrive over a socket opened straight to the collector, authenticated with a token minted through the proxy', async () => {
    const p = page!;
    await waitFor(p, 'POST /api/v1/read-token through the proxy', () =>
      host!.proxied.some(
        (r) => r.kind === 'http' && r.method === 'POST' && r.proxyPath === '/sg/api/v1/read-token' && r.status === 200
      )
    );
    await waitFor(
      p,
      'the live query to be running',
      async () => (await p.textContent('[data-testid="query-status"]'))?.startsWith('response') ?? false
    );
    const r = await publish(
      collector!.url,
      {
        messages: [
          { channel: CHANNEL, data: { value: 7, label: 'direct-1' } },
          { channel: CHANNEL, data: { value: 8, label: 'direct-2' } },
        ],
      },
      AUTH
    );
    expect(r.status).toBe(200);
    await waitFor(p, 'two rows in the page', async () => (await column(p, 'label')).length >= 2);
    expect(await column(p, 'label')).toEqual(['direct-1', 'direct-2']);
    expect(await column(p, 'value')).toEqual(['7', '8']);
    // The API key stays with the proxy; the socket never went through it.
    expect(host!.proxied.filter((x) => x.kind === 'upgrade')).toEqual([]);
    expect(await p.content()).not.toContain(API_KEY);
    await p.screenshot({ path: join(SHOTS, 'browser-host-direct.png'), fullPage: true });
  });

  test('"Save & test" succeeds in direct mode', async () => {
    const p = page!;
    await waitFor(p, 'testDatasource to finish', async () => {
      const h = await p.textContent('[data-testid="health"]');
      return !!h && !/^(not tested|testing)/.test(h);
    });
    const { health } = await hostState(p);
    expect(health?.status).toBe('success');
  });
});
