/**
 * @jest-environment node
 */
// Access modes against a collector with API keys: proxy mode (the route adds the key) and direct
// mode (the browser's socket goes to the collector with a short-lived token, refreshed in time).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocketCtor } from '@streamgauge/client';
import WebSocket from 'ws';
import {
  type CollectorProcess,
  freePort,
  publish,
  startCollector,
} from '../../../collector/test/helpers/collector-process';
import type { DataSource } from '../datasource';
import { ConnectionState } from '../live/connection-state';
import { type FakeGrafanaProxy, startFakeGrafanaProxy } from './helpers/fake-grafana-proxy';
import { QueryWatcher, UID, makeDataSource, range, request, waitFor } from './helpers/harness';

const API_KEY = 'sg-test-key-0123456789abcdef0123456789';

let collector: CollectorProcess;
let proxy: FakeGrafanaProxy;
let keyless: FakeGrafanaProxy;
let wrongKey: FakeGrafanaProxy;
/** A port nothing listens on. */
let deadPort: number;

/** Node has no no-cors fetch: reachability is any HTTP answer at all. */
const nodeProbe = async (url: string) => {
  try {
    await fetch(`${url.replace(/^ws/, 'http').replace(/\/ws$/, '')}/healthz`);
    return true;
  } catch {
    return false;
  }
};
const sources: DataSource[] = [];
const watchers: QueryWatcher[] = [];

async function send(channel: string, seqs: number[]) {
  const r = await publish(
    collector.url,
    { messages: seqs.map((seq) => ({ channel, data: { seq } })) },
    { authorization: `Bearer ${API_KEY}` }
  );
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  collector = await startCollector({
    config: {
      auth: {
        keys: [{ name: 'grafana', key: API_KEY, scopes: { subscribe: ['**'], publish: ['**'] } }],
        tokens: { secret: 'x'.repeat(40), maxTtlSeconds: 600 },
      },
    },
  });
  proxy = await startFakeGrafanaProxy({ uid: UID, target: () => collector.url, apiKey: API_KEY });
  keyless = await startFakeGrafanaProxy({ uid: UID, target: () => collector.url });
  wrongKey = await startFakeGrafanaProxy({
    uid: UID,
    target: () => collector.url,
    apiKey: 'sg-wrong-key-0000000000000000000000',
  });
  deadPort = await freePort();
});

afterEach(() => {
  for (const w of watchers.splice(0)) {
    w.stop();
  }
  for (const d of sources.splice(0)) {
    d.dispose();
  }
});

afterAll(async () => {
  await proxy?.close();
  await keyless?.close();
  await wrongKey?.close();
  await collector?.stop();
  collector?.cleanup();
});

describe('access modes with API keys', () => {
  test('proxy mode: the route adds the key; REST, the socket and testDatasource work', async () => {
    const d = makeDataSource(proxy);
    sources.push(d);
    expect((await d.testDatasource()).status).toBe('success');
    await send('auth/proxy', [1]);
    const w2 = new QueryWatcher(d.query(request([{ channel: 'auth/proxy' }])));
    watchers.push(w2);
    await waitFor('history', () => w2.values('seq').length === 1);
    await send('auth/proxy', [2, 3]);
    await waitFor('live', () => w2.values('seq').length === 3);
    expect(w2.values('seq')).toEqual([1, 2, 3]);
  });

  test("regression: a wrong API key through Grafana's proxy (401 -> 400 text) is named in testDatasource", async () => {
    const d = makeDataSource(wrongKey);
    sources.push(d);
    const r = await d.testDatasource();
    expect(r.status).toBe('error');
    expect(r.message).toBe(
      "REST: the collector rejected the API key: Grafana's proxy answered 400 \"Authentication to data source failed\", its answer when the collector says 401. Set the API key in this data source's settings (it must be one of the collector's auth.keys)."
    );
    // What the stand-in did is what Grafana does: 400 plain text in place of the collector's 401.
    expect(wrongKey.records.find((x) => x.proxyPath === '/sg/api/v1/status')?.status).toBe(400);
  });

  test('regression: a panel through a proxy without the key says the collector rejected the API key', async () => {
    await send('auth/keyless', [1]);
    const d = makeDataSource(keyless);
    sources.push(d);
    const w = new QueryWatcher(d.query(request([{ channel: 'auth/keyless' }])));
    watchers.push(w);
    await waitFor('error', () => w.errors.length > 0);
    expect((w.errors[0] as { message: string }).message).toMatch(
      /^SG_PLUGIN_AUTH_FAILED: the collector rejected the API key \(Grafana's proxy answered 400 "Authentication to data source failed" for .+\/api\/v1\/channels\/auth\/keyless, its answer to a 401\)\. Set the API key in this data source's settings$/
    );
  });

  test('the proxy stand-in plays Grafana: Origin, Referer and X-Forwarded-Host/Port/Proto removed, X-Forwarded-For set, Set-Cookie removed, CSP sandbox added', async () => {
    const res = await fetch(`${proxy.dsUrl}/sg/api/v1/status`, {
      headers: {
        referer: 'http://grafana.example/d/abc',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-port': '1',
        'x-forwarded-proto': 'https',
        cookie: 'grafana_session=secret',
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe('sandbox');
    expect(res.headers.get('set-cookie')).toBeNull();
    const rec = proxy.records[proxy.records.length - 1];
    expect(rec.sentHeaders).not.toHaveProperty('origin');
    expect(rec.sentHeaders).not.toHaveProperty('referer');
    expect(rec.sentHeaders).not.toHaveProperty('cookie');
    expect(rec.sentHeaders).not.toHaveProperty('x-forwarded-host');
    expect(rec.sentHeaders).not.toHaveProperty('x-forwarded-port');
    expect(rec.sentHeaders).not.toHaveProperty('x-forwarded-proto');
    expect(rec.sentHeaders['x-forwarded-for']).toBe('127.0.0.1');
    expect(rec.sentHeaders['x-grafana-referer']).toBe('http://grafana.example/d/abc');
    expect(rec.headersAdded).toEqual(['Authorization']);
  });

  test('collector down: 502 with an empty body, and testDatasource says so', async () => {
    const down = await startFakeGrafanaProxy({
      uid: UID,
      target: () => `http://127.0.0.1:${deadPort}`,
      apiKey: API_KEY,
    });
    try {
      const res = await fetch(`${down.dsUrl}/sg/api/v1/status`);
      expect(res.status).toBe(502);
      expect(await res.text()).toBe('');
      const d = makeDataSource(down);
      sources.push(d);
      const r = await d.testDatasource();
      expect(r).toEqual({
        status: 'error',
        message:
          "REST: the collector is down or unreachable from Grafana's server: Grafana's proxy answered 502. Check that the collector runs and that \"Collector URL\" is its address as Grafana's server reaches it (not as your browser does).",
      });
    } finally {
      await down.close();
    }
  });

  test('a collector that does not answer in time: 504', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const slow = await startFakeGrafanaProxy({
      uid: UID,
      target: () => `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      timeoutMs: 300,
    });
    try {
      const res = await fetch(`${slow.dsUrl}/sg/api/v1/status`);
      expect(res.status).toBe(504);
      expect(await res.text()).toBe('');
    } finally {
      await slow.close();
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  test('wrong collector URL (something else answers): testDatasource says it is not a Streamgauge collector', async () => {
    const other = http.createServer((_req, res) =>
      res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>nope</h1>')
    );
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const wrong = await startFakeGrafanaProxy({
      uid: UID,
      target: () => `http://127.0.0.1:${(other.address() as AddressInfo).port}`,
      apiKey: API_KEY,
    });
    try {
      const d = makeDataSource(wrong);
      sources.push(d);
      const r = await d.testDatasource();
      expect(r.status).toBe('error');
      expect(r.message).toMatch(
        /^REST: "Collector URL" does not point at a Streamgauge collector: .+\/sg\/api\/v1\/status answered HTTP 404 without a Streamgauge answer \(.+\)\. Set it to the collector's base URL as Grafana's server reaches it, e\.g\. http:\/\/collector:8080, without \/api\.$/
      );
    } finally {
      await wrong.close();
      other.closeAllConnections();
      await new Promise((r) => other.close(r));
    }
  });

  test('a proxy refusing upgrades: testDatasource warns and says what to fix', async () => {
    const d = makeDataSource(proxy);
    sources.push(d);
    proxy.refuseUpgrades(true);
    try {
      const r = await d.testDatasource();
      expect(r.status).toBe('warning');
      expect(r.message).toMatch(
        /^REST works \(\d+ channels\), but WebSocket through Grafana's proxy failed: the upgrade of ws:\/\/.+\/sg\/ws was refused \(1006\) although REST through the same proxy works: a reverse proxy in front of Grafana does not pass WebSocket upgrades .+\. Live panels fall back to REST polling\.$/
      );
    } finally {
      proxy.refuseUpgrades(false);
    }
  });

  test('direct mode, a Browser URL the browser cannot reach: testDatasource says so', async () => {
    const d = makeDataSource(
      proxy,
      { accessMode: 'direct', directUrl: `http://127.0.0.1:${deadPort}` },
      { probe: nodeProbe }
    );
    sources.push(d);
    const r = await d.testDatasource();
    expect(r.status).toBe('warning');
    expect(r.message).toContain(
      `WebSocket directly failed: the browser cannot reach the Browser URL http://127.0.0.1:${deadPort} (1006): it must be the collector's address as browsers see it`
    );
  });

  test('direct mode, the collector refuses the page origin (CORS): testDatasource says which setting', async () => {
    // A browser sends its page's Origin with the upgrade; `ws` does so when told.
    class BrowserLikeWebSocket extends WebSocket {
      constructor(url: string) {
        super(url, { origin: 'http://grafana.example' });
      }
    }
    const d = makeDataSource(
      proxy,
      { accessMode: 'direct', directUrl: collector.url },
      {
        probe: nodeProbe,
        WebSocket: BrowserLikeWebSocket as unknown as WebSocketCtor,
        location: { protocol: 'http:', host: 'grafana.example' },
      }
    );
    sources.push(d);
    const r = await d.testDatasource();
    expect(r.status).toBe('warning');
    expect(r.message).toContain(
      `WebSocket directly failed: the collector at ${collector.url} refused the socket (1006) although the browser reaches it: most likely it refused this page's origin http://grafana.example (SG_ORIGIN_FORBIDDEN, the CORS check of browsers): add it to the collector's ws.allowedOrigins (SG_ALLOWED_ORIGINS)`
    );
  });

  test('direct mode: the socket bypasses Grafana with a token and stays up past its expiry by refreshing it', async () => {
    await send('auth/direct', [1]);
    const upgradesBefore = proxy.upgrades();
    // 5 s: the client renews at 80 % of the life (4 s), and the renewal (a token request and an
    // auth frame) must land within the last second; with 2 s it had 0.4 s, which a machine with
    // both cores busy missed once (the socket was closed 4401 and reconnected, nothing lost).
    const d = makeDataSource(proxy, { accessMode: 'direct', directUrl: collector.url, tokenTtlSeconds: 5 });
    sources.push(d);
    expect(d.endpoints.wsUrl).toBe(`${collector.wsUrl}`);
    expect((await d.testDatasource()).message).toMatch(
      /^Collector reachable: REST and WebSocket directly work; \d+ channels visible\.$/
    );
    const w = new QueryWatcher(d.query(request([{ channel: 'auth/direct' }])));
    watchers.push(w);
    await waitFor('connected', () => d.connectionState === ConnectionState.Connected);
    await send('auth/direct', [2]);
    await waitFor('live over the direct socket', () => w.values('seq').length === 2);
    // Past the 5 s token life: without a refresh the collector would close with 4401.
    await new Promise((r) => setTimeout(r, 6_000));
    await send('auth/direct', [3, 4]);
    await waitFor('still live after expiry', () => w.values('seq').length === 4);
    expect(w.values('seq')).toEqual(range(1, 4));
    expect(d.manager.stats.connects).toBe(1);
    expect(proxy.upgrades()).toBe(upgradesBefore);
  });
});
