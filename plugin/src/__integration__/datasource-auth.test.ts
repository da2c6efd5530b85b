/**
 * @jest-environment node
 */
// Access modes against a collector with API keys: proxy mode (the route adds the key) and direct
// mode (the browser's socket goes to the collector with a short-lived token, refreshed in time).
import { type CollectorProcess, publish, startCollector } from '../../../collector/test/helpers/collector-process';
import type { DataSource } from '../datasource';
import { ConnectionState } from '../live/connection-state';
import { type FakeGrafanaProxy, startFakeGrafanaProxy } from './helpers/fake-grafana-proxy';
import { QueryWatcher, UID, makeDataSource, range, request, waitFor } from './helpers/harness';

jest.setTimeout(60_000);

const API_KEY = 'sg-test-key-0123456789abcdef0123456789';

let collector: CollectorProcess;
let proxy: FakeGrafanaProxy;
let keyless: FakeGrafanaProxy;
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

  test('testDatasource says the key was rejected when Grafana sends none', async () => {
    const d = makeDataSource(keyless);
    sources.push(d);
    const r = await d.testDatasource();
    expect(r.status).toBe('error');
    expect(r.message).toMatch(
      /^REST: the collector rejected the API key \(SG_UNAUTHORIZED: .+\)\. Set the API key in this data source's settings\.$/
    );
  });

  test('a query through a proxy without the key fails with the collector error code', async () => {
    await send('auth/keyless', [1]);
    const d = makeDataSource(keyless);
    sources.push(d);
    const w = new QueryWatcher(d.query(request([{ channel: 'auth/keyless' }])));
    watchers.push(w);
    await waitFor('error', () => w.errors.length > 0);
    expect((w.errors[0] as { message: string }).message).toMatch(/^SG_UNAUTHORIZED: /);
  });

  test('direct mode: the socket bypasses Grafana with a token and stays up past its expiry by refreshing it', async () => {
    await send('auth/direct', [1]);
    const upgradesBefore = proxy.upgrades();
    const d = makeDataSource(proxy, { accessMode: 'direct', directUrl: collector.url, tokenTtlSeconds: 2 });
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
    // Past the 2 s token life: without a refresh the collector would close with 4401.
    await new Promise((r) => setTimeout(r, 3_000));
    await send('auth/direct', [3, 4]);
    await waitFor('still live after expiry', () => w.values('seq').length === 4);
    expect(w.values('seq')).toEqual(range(1, 4));
    expect(d.manager.stats.connects).toBe(1);
    expect(proxy.upgrades()).toBe(upgradesBefore);
  });
});
