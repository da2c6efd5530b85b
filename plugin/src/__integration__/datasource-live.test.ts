/**
 * @jest-environment node
 */
// The real DataSource against a real collector process (collector/dist, `npm run build:collector`),
// through a stand-in for Grafana's data source proxy. No mocks.
import { LoadingState } from '@grafana/data';
import { tap } from 'rxjs';
import { type CollectorProcess, publish, startCollector } from '../../../collector/test/helpers/collector-process';
import type { DataSource } from '../datasource';
import { ConnectionState } from '../live/connection-state';
import { type FakeGrafanaProxy, startFakeGrafanaProxy } from './helpers/fake-grafana-proxy';
import { QueryWatcher, UID, makeDataSource, range, request, waitFor } from './helpers/harness';

const T0 = Date.now() - 60_000;

const config = {
  channels: {
    definitions: [
      {
        name: 'app/scans',
        fields: [
          { name: 'seq', type: 'number' },
          { name: 'latency', type: 'number', unit: 'ms' },
          { name: 'country', type: 'string' },
          { name: 'at', type: 'time' },
        ],
        timeField: 'at',
      },
      { name: 'app/other', fields: [{ name: 'seq', type: 'number' }] },
      { name: 'app/short', fields: [{ name: 'seq', type: 'number' }], retention: { maxMessages: 5 } },
      {
        name: 'app/deploys',
        fields: [
          { name: 'message', type: 'string' },
          { name: 'level', type: 'string' },
        ],
      },
    ],
  },
};

let collector: CollectorProcess;
let proxy: FakeGrafanaProxy;
const sources: DataSource[] = [];
const watchers: QueryWatcher[] = [];

async function send(channel: string, seqs: number[], extra: (s: number) => Record<string, unknown> = () => ({})) {
  const r = await publish(collector.url, { messages: seqs.map((seq) => ({ channel, data: { seq, ...extra(seq) } })) });
  expect(r.status).toBe(200);
}

function ds(...args: Parameters<typeof makeDataSource> extends [unknown, ...infer R] ? R : never): DataSource {
  const d = makeDataSource(proxy, ...args);
  sources.push(d);
  return d;
}

function watch(w: QueryWatcher): QueryWatcher {
  watchers.push(w);
  return w;
}

async function status(): Promise<{ clients: { ws: number }; subscriptions: number }> {
  return (await fetch(`${collector.url}/api/v1/status`)).json() as never;
}

beforeAll(async () => {
  collector = await startCollector({ config });
  proxy = await startFakeGrafanaProxy({ uid: UID, target: () => collector.url });
});

afterEach(() => {
  for (const w of watchers.splice(0)) {
    w.stop();
  }
  for (const d of sources.splice(0)) {
    d.dispose();
  }
  proxy.refuseUpgrades(false);
});

afterAll(async () => {
  await proxy?.close();
  await collector?.stop();
  collector?.cleanup();
});

describe('DataSource against a real collector', () => {
  test('behaviour: history for the range first, then published rows appear live, stamped with the data own time', async () => {
    await send('app/scans', [1, 2, 3], (s) => ({ latency: s * 10, country: 'DE', at: T0 + s * 1000 }));
    const w = watch(new QueryWatcher(ds().query(request([{ channel: 'app/scans', live: true, bufferSize: 100 }]))));
    await waitFor('history rows', () => w.values('seq').length === 3);
    expect(w.emissions[0].state).toBe(LoadingState.Streaming);
    expect(w.values('at')).toEqual([T0 + 1000, T0 + 2000, T0 + 3000]);
    const latency = w.frame()!.fields.find((f) => f.name === 'latency')!;
    expect(latency.config.unit).toBe('ms');

    await send('app/scans', [4, 5], (s) => ({ latency: s * 10, country: 'FR', at: T0 + s * 1000 }));
    await waitFor('live rows', () => w.values('seq').length === 5);
    expect(w.values('seq')).toEqual([1, 2, 3, 4, 5]);
    expect(w.values('at')).toEqual(range(1, 5).map((s) => T0 + s * 1000));
  });

  test('behaviour: a non-live query reads only the range and completes', async () => {
    const now = Date.now();
    const w = watch(
      new QueryWatcher(
        ds().query(request([{ channel: 'app/scans', live: false }], { fromMs: now - 600_000, toMs: now }))
      )
    );
    await waitFor('completion', () => w.completed);
    expect(w.emissions).toHaveLength(1);
    expect(w.emissions[0].state).toBe(LoadingState.Done);
    expect(w.values('seq').length).toBeGreaterThanOrEqual(5);
  });

  test('behaviour: a slow-changing channel shows its last value at once, even when the range holds none', async () => {
    await send('app/other', [41]);
    const future = Date.now() + 10_000;
    const w = watch(
      new QueryWatcher(
        ds().query(request([{ channel: 'app/other', live: true }], { fromMs: future, toMs: future + 60_000 }))
      )
    );
    await waitFor('last value', () => w.values('seq').length === 1);
    expect(w.values('seq')).toEqual([41]);
  });

  test('multiplexing: two panels on one channel and one on another share one socket; no data crosses panels; teardown releases everything', async () => {
    const d = ds();
    const p1 = watch(new QueryWatcher(d.query(request([{ channel: 'app/scans', fields: ['seq'] }], { panelId: 1 }))));
    const p2 = watch(
      new QueryWatcher(
        d.query(request([{ channel: 'app/scans', fields: ['seq'], filter: 'seq > 100' }], { panelId: 2 }))
      )
    );
    const p3 = watch(new QueryWatcher(d.query(request([{ channel: 'app/other' }], { panelId: 3 }))));
    await waitFor('one socket, two wire subscriptions', async () => {
      const s = await status();
      return s.clients.ws === 1 && s.subscriptions === 2 && d.connectionState === ConnectionState.Connected;
    });
    expect(d.manager.refCounts).toEqual({ channels: 2, listeners: 3 });

    await send('app/scans', [101, 102]);
    await send('app/other', [500]);
    await waitFor('p1 rows', () => p1.values('seq').includes(102));
    await waitFor('p2 rows', () => p2.values('seq').includes(102));
    await waitFor('p3 rows', () => p3.values('seq').includes(500));
    expect(p2.values('seq')).toEqual([101, 102]);
    expect(p3.values('seq')).not.toContain(101);
    expect(p1.values('seq')).not.toContain(500);
    expect([...p1.latest.keys()][0]).not.toEqual([...p2.latest.keys()][0]);

    p1.stop();
    await waitFor('p1 released', () => d.manager.refCounts.listeners === 2);
    expect((await status()).subscriptions).toBe(2);
    p2.stop();
    await waitFor('channel unsubscribed on the wire', async () => (await status()).subscriptions === 1);
    p3.stop();
    await waitFor('socket closed after the last panel went away', async () => (await status()).clients.ws === 0);
    expect(d.manager.refCounts).toEqual({ channels: 0, listeners: 0 });
    expect(d.connectionState).toBe(ConnectionState.Idle);
  });

  test('a listener joining a channel already live further on gets the hole from REST, then live, each message once', async () => {
    const d = ds();
    const p1 = watch(new QueryWatcher(d.query(request([{ channel: 'app/scans', fields: ['seq'] }], { panelId: 11 }))));
    await waitFor('connected', () => d.connectionState === ConnectionState.Connected);
    await send('app/scans', range(600, 604));
    await waitFor('p1 live', () => p1.values('seq').includes(604));
    const hist = (await (await fetch(`${collector.url}/api/v1/messages?channel=app/scans&tail=1&limit=5`)).json()) as {
      epoch: string;
      messages: Array<{ offset: number; data: { seq: number } }>;
    };
    const start = hist.messages[1].offset; // four messages behind the wire
    const got: number[] = [];
    const offsets: number[] = [];
    const unsubscribe = d.manager.subscribe(
      'app/scans',
      { epoch: hist.epoch, offset: start },
      {
        onMessages: (items) => {
          for (const m of items) {
            offsets.push(m.offset);
            got.push((m.data as { seq: number }).seq);
          }
        },
      }
    );
    try {
      await waitFor('hole filled', () => got.includes(604));
      await send('app/scans', [605]);
      await waitFor('live after the hole', () => got.includes(605));
      expect(got).toEqual([602, 603, 604, 605]);
      expect(offsets).toEqual(range(start + 1, start + 4));
      expect(d.manager.stats.catchUps).toBeGreaterThanOrEqual(1);
    } finally {
      unsubscribe();
    }
  });

  test('behaviour: a query edit (new channel, same panel) applies without a reload', async () => {
    const d = ds();
    const before = watch(new QueryWatcher(d.query(request([{ channel: 'app/other' }], { panelId: 9 }))));
    await waitFor('first query', () => before.values('seq').length > 0);
    before.stop();
    const after = watch(
      new QueryWatcher(d.query(request([{ channel: 'app/scans', fields: ['seq'] }], { panelId: 9 })))
    );
    await send('app/scans', [201]);
    await waitFor('edited query live', () => after.values('seq').includes(201));
    expect(after.values('seq')).not.toContain(500);
  });

  test('resume: the collector killed and restarted, the stream continues with no gap and no duplicate', async () => {
    const d = ds();
    const w = watch(
      new QueryWatcher(d.query(request([{ channel: 'app/other', filter: 'seq >= 1000' }], { panelId: 4 })))
    );
    await waitFor('connected', () => d.connectionState === ConnectionState.Connected);
    await send('app/other', range(1000, 1004));
    await waitFor('before the kill', () => w.values('seq').length === 5);

    await collector.stop('SIGKILL');
    await waitFor('reconnecting', () => d.connectionState === ConnectionState.Reconnecting);
    // The connection state is visible on the panel while it lasts.
    await waitFor('reconnecting notice', () =>
      (w.frame()?.meta?.notices ?? []).some(
        (n) => n.severity === 'warning' && /connection lost .*reconnecting/.test(n.text)
      )
    );
    collector = await startCollector({ config, dataDir: collector.dataDir, port: collector.port });
    // Published before the plugin is back: it must get them through the resume, not lose them.
    await send('app/other', range(1005, 1009));
    await waitFor('reconnected', () => d.connectionState === ConnectionState.Connected);
    await send('app/other', range(1010, 1012));
    await waitFor('after the restart', () => w.values('seq').includes(1012));
    expect(w.values('seq')).toEqual(range(1000, 1012));
    expect(d.manager.stats.resets).toBe(0);
  });

  test('expired position: the notice is shown on the frame and the frame is refilled from REST', async () => {
    const d = ds({}, { connection: { fallbackAfterFailures: 1_000 } });
    const w = watch(new QueryWatcher(d.query(request([{ channel: 'app/short' }], { panelId: 5 }))));
    await waitFor('connected', () => d.connectionState === ConnectionState.Connected);
    await send('app/short', [1, 2, 3]);
    await waitFor('live rows', () => w.values('seq').length === 3);

    // Cut the socket and keep it down while retention (5 messages) evicts our position.
    proxy.refuseUpgrades(true);
    proxy.killSockets();
    await waitFor('disconnected', () => d.connectionState === ConnectionState.Reconnecting);
    await send('app/short', range(4, 20));
    proxy.refuseUpgrades(false);

    await waitFor('refilled', () => w.values('seq').includes(20));
    const notices = w.frame()!.meta?.notices ?? [];
    expect(notices.map((n) => n.severity)).toContain('warning');
    expect(notices.map((n) => n.text).join('\n')).toMatch(/position lost \(expired\)/);
    // The refill holds what the collector still has, once each, in order.
    expect(w.values('seq')).toEqual(range(16, 20));
    expect(d.manager.stats.resets).toBeGreaterThanOrEqual(1);
  });

  test('fallback: when upgrades are refused the panel is fed by REST polling, and returns to WebSocket when it works', async () => {
    proxy.refuseUpgrades(true);
    const d = ds({ pollIntervalMs: 100 }, { connection: { fallbackAfterFailures: 2, wsRetryIntervalMs: 500 } });
    const w = watch(
      new QueryWatcher(d.query(request([{ channel: 'app/other', filter: 'seq >= 2000' }], { panelId: 6 })))
    );
    await waitFor('polling', () => d.connectionState === ConnectionState.Polling);
    await send('app/other', range(2000, 2004));
    await waitFor('rows by polling', () => w.values('seq').length === 5);
    const notice = (w.frame()!.meta?.notices ?? []).find((n) => n.severity === 'info');
    expect(notice?.text).toMatch(/WebSocket unavailable .*polling the REST API every 100 ms/);

    proxy.refuseUpgrades(false);
    await waitFor('back on WebSocket', () => d.connectionState === ConnectionState.Connected);
    await send('app/other', range(2005, 2007));
    await waitFor('rows by WebSocket', () => w.values('seq').includes(2007));
    expect(w.values('seq')).toEqual(range(2000, 2007));
    await waitFor('notice cleared', () => !(w.frame()!.meta?.notices ?? []).some((n) => n.severity === 'info'));
  });

  test('heartbeat: a connection that goes silent is detected and replaced, and the stream resumes', async () => {
    const d = ds({}, { connection: { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 300 } });
    const w = watch(
      new QueryWatcher(d.query(request([{ channel: 'app/other', filter: 'seq >= 3000' }], { panelId: 7 })))
    );
    await waitFor('connected', () => d.connectionState === ConnectionState.Connected);
    const upgradesBefore = proxy.upgrades();
    proxy.freezeSockets();
    await send('app/other', [3000, 3001]);
    await waitFor(
      'a new socket',
      () => proxy.upgrades() > upgradesBefore && d.connectionState === ConnectionState.Connected
    );
    await waitFor('rows after the dead connection', () => w.values('seq').includes(3001));
    expect(w.values('seq')).toEqual([3000, 3001]);
    // The silent connection is cut, not left half-open: one socket remains.
    await waitFor(
      'the dead connection released',
      async () => proxy.openSockets() === 1 && (await status()).clients.ws === 1
    );
  });

  test('bounded render rate: many messages are batched into few emissions, and the buffer bound holds', async () => {
    const minEmitIntervalMs = 500;
    const d = ds({}, { minEmitIntervalMs });
    // When each response reached the panel: the bound is on the spacing of emissions (a rate),
    // which no slowdown of the machine can break, not on how many fit in some time window.
    const emittedAt: number[] = [];
    const w = watch(
      new QueryWatcher(
        d
          .query(request([{ channel: 'app/other', filter: 'seq >= 4000', bufferSize: 150 }], { panelId: 10 }))
          .pipe(tap(() => emittedAt.push(Date.now())))
      )
    );
    await waitFor('connected', () => d.connectionState === ConnectionState.Connected);
    const before = emittedAt.length;
    await Promise.all(range(0, 19).map((i) => send('app/other', range(4000 + i * 10, 4009 + i * 10))));
    await waitFor('last batch', () => w.values('seq').length === 150);
    // 20 publishes of 10 messages: the panel got them at least minEmitIntervalMs apart
    // (a timer never fires early; 5 ms for clock rounding).
    const gaps = emittedAt.slice(Math.max(1, before)).map((t, i) => t - emittedAt[Math.max(1, before) + i - 1]);
    expect(gaps.length).toBeGreaterThan(0);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(minEmitIntervalMs - 5);
    const seqs = w.values('seq') as number[];
    expect(seqs).toHaveLength(150);
    expect(new Set(seqs).size).toBe(150);
  });

  test('teardown: unsubscribing a panel mid-history opens no subscription afterwards', async () => {
    const d = ds();
    const w = new QueryWatcher(d.query(request([{ channel: 'app/scans' }], { panelId: 8 })));
    w.stop();
    await new Promise((r) => setTimeout(r, 300));
    // The connection manager is created by the first live subscription: never, here.
    expect(d.connectionState).toBeUndefined();
    await waitFor('no socket on the collector', async () => (await status()).clients.ws === 0);
  });
});

describe('variables, annotations and the connection test', () => {
  test('channels(), fields() and values() answer from the collector', async () => {
    await send('app/scans', [301, 302], (s) => ({ country: s === 301 ? 'DE' : 'BR', at: Date.now() }));
    const d = ds();
    const channels = (await d.metricFindQuery('channels(app/*)')).map((v) => v.text);
    expect(channels).toEqual(expect.arrayContaining(['app/scans', 'app/other', 'app/short']));
    expect((await d.metricFindQuery('fields(app/scans)')).map((v) => v.text)).toEqual([
      'seq',
      'latency',
      'country',
      'at',
    ]);
    const countries = (await d.metricFindQuery('values(app/scans, country)')).map((v) => v.text);
    expect(countries).toEqual(expect.arrayContaining(['BR', 'DE']));
    await expect(d.metricFindQuery('bogus(1)')).rejects.toMatchObject({ code: 'SG_PLUGIN_BAD_VARIABLE_QUERY' });
  });

  test('a half-filled configuration (direct mode without a browser URL) is reported, not thrown at construction', async () => {
    const d = ds({ accessMode: 'direct' });
    expect(await d.testDatasource()).toEqual({
      status: 'error',
      message: 'Settings: direct mode needs the browser-facing collector URL (Browser URL in the data source settings)',
    });
    const w = watch(new QueryWatcher(d.query(request([{ channel: 'app/scans' }]))));
    expect(w.errors).toEqual([
      {
        message:
          'SG_PLUGIN_BAD_URL: direct mode needs the browser-facing collector URL (Browser URL in the data source settings)',
      },
    ]);
    // The editors still list channels through the proxy.
    expect((await d.api.channels()).length).toBeGreaterThan(0);
  });

  test('annotations from a channel carry time, text and tags', async () => {
    await publish(collector.url, {
      messages: [{ channel: 'app/deploys', data: { message: 'deployed v2', level: 'info' } }],
    });
    const d = ds();
    const q = d.annotations!.prepareQuery!({
      name: 'deploys',
      enable: true,
      iconColor: 'red',
      target: { refId: 'X', channel: 'app/deploys' },
    } as never)!;
    const w = watch(new QueryWatcher(d.query(request([q]))));
    await waitFor('annotation frame', () => w.completed);
    expect(w.values('text')).toContain('deployed v2');
    expect(w.values('tags')).toContainEqual(['info']);
    expect(w.frame()!.fields[0].name).toBe('time');
  });

  test('testDatasource: success through the proxy, warning when upgrades are refused, exact error when the collector is unreachable', async () => {
    const d = ds();
    expect(await d.testDatasource()).toEqual({
      status: 'success',
      message: expect.stringMatching(
        /^Collector reachable: REST and WebSocket through Grafana's proxy work; \d+ channels visible\.$/
      ),
    });
    proxy.refuseUpgrades(true);
    const warn = await d.testDatasource();
    expect(warn.status).toBe('warning');
    expect(warn.message).toMatch(
      /WebSocket through Grafana's proxy failed: the upgrade of .+ was refused \(1006\) although REST through the same proxy works/
    );
    proxy.refuseUpgrades(false);

    const deadProxy = await startFakeGrafanaProxy({ uid: UID, target: () => 'http://127.0.0.1:9' });
    let broken;
    try {
      broken = await makeDataSource(deadProxy).testDatasource();
    } finally {
      await deadProxy.close();
    }
    expect(broken.status).toBe('error');
    expect(broken.message).toBe(
      `REST: the collector is down or unreachable from Grafana's server: Grafana's proxy answered 502. Check that the collector runs and that "Collector URL" is its address as Grafana's server reaches it (not as your browser does).`
    );
  });
});
