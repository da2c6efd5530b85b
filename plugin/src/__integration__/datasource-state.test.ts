/**
 * @jest-environment node
 */
// State and entity channels as current state (one row per key) through the real DataSource,
// a Grafana-faithful proxy and a real collector: snapshot, updates, deletes and TTL expiry.
import { type CollectorProcess, publish, startCollector } from '../../../collector/test/helpers/collector-process';
import type { DataSource } from '../datasource';
import { type FakeGrafanaProxy, startFakeGrafanaProxy } from './helpers/fake-grafana-proxy';
import { QueryWatcher, UID, makeDataSource, request, waitFor } from './helpers/harness';

const config = {
  channels: {
    definitions: [
      {
        name: 'st/components',
        kind: 'state',
        keyField: 'component',
        fields: [
          { name: 'component', type: 'string' },
          { name: 'status', type: 'string' },
          { name: 'n', type: 'number' },
        ],
      },
      {
        name: 'st/connections',
        kind: 'entity',
        keyField: 'id',
        fields: [
          { name: 'id', type: 'string' },
          { name: 'country', type: 'string' },
          { name: 'bitrate_bps', type: 'number' },
        ],
      },
    ],
  },
};

let collector: CollectorProcess;
let proxy: FakeGrafanaProxy;
const sources: DataSource[] = [];
const watchers: QueryWatcher[] = [];

async function send(items: unknown[]) {
  const r = await publish(collector.url, { messages: items });
  expect(r.status).toBe(200);
}

function rows(w: QueryWatcher): Array<Record<string, unknown>> {
  const f = w.frame();
  if (!f) {
    return [];
  }
  return Array.from({ length: f.length }, (_, i) => Object.fromEntries(f.fields.map((x) => [x.name, x.values[i]])));
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
});

afterAll(async () => {
  await proxy?.close();
  await collector?.stop();
  collector?.cleanup();
});

function query(targets: Parameters<typeof request>[0], o?: Parameters<typeof request>[1]) {
  const d = makeDataSource(proxy);
  sources.push(d);
  const w = new QueryWatcher(d.query(request(targets, o)));
  watchers.push(w);
  return w;
}

const keys = ['camera', 'cloud', 'sms'];
const update = (i: number) => ({
  channel: 'st/components',
  data: { component: keys[i % 3], status: i % 2 ? 'online' : 'offline', n: i },
});

describe('current state through the real DataSource', () => {
  test('behaviour: 3 keys and 100 updates (before and after subscribing) show as 3 rows with the latest values', async () => {
    await send(Array.from({ length: 60 }, (_, i) => update(i + 1)));
    const w = query([{ channel: 'st/components' }]);
    await waitFor('the snapshot', () => rows(w).length === 3);
    await send(Array.from({ length: 40 }, (_, i) => update(i + 61)));
    await waitFor('the last update', () => rows(w).some((r) => r.n === 100));
    expect(rows(w).map((r) => [r.component, r.status, r.n])).toEqual([
      ['camera', 'online', 99],
      ['cloud', 'offline', 100],
      ['sms', 'offline', 98],
    ]);
  });

  test('behaviour: "changes" keeps the log view: one row per message', async () => {
    const w = query([{ channel: 'st/components', view: 'changes', bufferSize: 1000 }]);
    await waitFor('history', () => rows(w).length === 100);
  });

  test('behaviour: an entity delete removes its row; a TTL expiry removes it too', async () => {
    await send([
      { channel: 'st/connections', data: { id: 'c1', country: 'BR', bitrate_bps: 1 } },
      { channel: 'st/connections', data: { id: 'c2', country: 'DE', bitrate_bps: 2 } },
    ]);
    const w = query([{ channel: 'st/connections' }]);
    await waitFor('two connections', () => rows(w).length === 2);
    await send([
      { channel: 'st/connections', key: 'c1', delete: true, data: { reason: 'closed' } },
      { channel: 'st/connections', ttl: 0.5, data: { id: 'c3', country: 'US', bitrate_bps: 3 } },
    ]);
    await waitFor(
      'c3 in, c1 out',
      () =>
        rows(w)
          .map((r) => r.id)
          .join() === 'c2,c3'
    );
    // The collector publishes a delete with reason "expired" once the ttl ran out.
    await waitFor(
      'c3 expired',
      () =>
        rows(w)
          .map((r) => r.id)
          .join() === 'c2',
      15_000
    );
    const snap = (await (await fetch(`${collector.url}/api/v1/snapshot?channel=st/connections`)).json()) as {
      messages: Array<{ key: string }>;
    };
    expect(snap.messages.map((m) => m.key)).toEqual(['c2']);
  });

  test('behaviour: "changes" of an entity channel shows a delete and a TTL expiry as rows with the deleted marker', async () => {
    const w = query([{ channel: 'st/connections', view: 'changes', filter: 'id = c7', bufferSize: 1000 }]);
    await waitFor('live', () => w.frame() !== undefined);
    await send([{ channel: 'st/connections', data: { id: 'c7', country: 'FR', bitrate_bps: 7 } }]);
    await waitFor('the insert', () => rows(w).length === 1);
    await send([{ channel: 'st/connections', key: 'c7', delete: true, data: { reason: 'closed' } }]);
    await waitFor('the delete', () => rows(w).length === 2);
    await send([{ channel: 'st/connections', ttl: 0.5, data: { id: 'c7', country: 'FR', bitrate_bps: 8 } }]);
    // The collector publishes the expiry as a delete (reason "expired"): a row of its own too.
    await waitFor('the expiry', () => rows(w).length === 4, 15_000);
    expect(rows(w).map((r) => [r.id, r.deleted, r.country ?? null, r.bitrate_bps ?? null])).toEqual([
      ['c7', false, 'FR', 7],
      ['c7', true, null, null],
      ['c7', false, 'FR', 8],
      ['c7', true, null, null],
    ]);
  });

  test('behaviour: a query that is not live shows the state as of the range end', async () => {
    const end = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await send([update(101)]);
    const w = query([{ channel: 'st/components', live: false }], { toMs: end, fromMs: end - 3_600_000 });
    await waitFor('done', () => w.completed);
    expect(rows(w).map((r) => [r.component, r.n])).toEqual([
      ['camera', 99],
      ['cloud', 100],
      ['sms', 98],
    ]);
  });
});
