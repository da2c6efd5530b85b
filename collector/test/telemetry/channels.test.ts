/**
 * Event, state and entity channels against a real collector process: the state snapshot first and
 * then changes (WebSocket and REST), entity upsert/delete/expiry by TTL, and the live aggregates of
 * an entity channel, checked to the unit.
 */
import { ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { EVENT_TIMEOUT_MS, waitUntil } from '../helpers/deadlines';
import { WsTestClient } from '../helpers/ws-test-client';

const CONFIG = {
  channels: {
    definitions: [
      {
        name: 'app/events',
        kind: 'stream',
        fields: [
          { name: 'level', type: 'string' },
          { name: 'message', type: 'string' },
          { name: 'device', type: 'string' },
        ],
      },
      {
        name: 'app/components',
        kind: 'state',
        keyField: 'component',
        fields: [
          { name: 'component', type: 'string' },
          { name: 'status', type: 'string' },
          { name: 'detail', type: 'string' },
        ],
      },
      {
        name: 'tv/conns',
        kind: 'entity',
        keyField: 'id',
        fields: [
          { name: 'id', type: 'string' },
          { name: 'country', type: 'string' },
          { name: 'stream', type: 'string' },
          { name: 'bitrate_bps', type: 'number' },
          { name: 'bytes', type: 'number' },
          { name: 'started_at', type: 'time' },
        ],
      },
    ],
  },
  telemetry: {
    ttlCheckIntervalMs: 100,
    aggregatesIntervalMs: 100,
    entities: [
      {
        channel: 'tv/conns',
        output: 'tv/conns/aggregates',
        groupBy: ['country', 'stream'],
        sum: ['bitrate_bps', 'bytes'],
        durationFrom: 'started_at',
      },
    ],
  },
};

async function snapshot(sg: CollectorProcess, channel: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${sg.url}/api/v1/snapshot?channel=${encodeURIComponent(channel)}`);
  return { status: r.status, body: await r.json() };
}

function byKey(messages: { key?: string; data: any }[]): Record<string, any> {
  return Object.fromEntries(messages.map((m) => [m.key, m.data]));
}

/** Polls the aggregates snapshot until pred holds for the rows by dimension. */
async function waitForRows(
  sg: CollectorProcess,
  pred: (rows: Record<string, any>) => boolean,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  let rows: Record<string, any> = {};
  while (Date.now() < deadline) {
    const s = await snapshot(sg, 'tv/conns/aggregates');
    rows = s.status === 200 ? byKey(s.body.messages) : {};
    if (pred(rows)) {
      return rows;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`aggregates never matched; last rows: ${JSON.stringify(rows)}`);
}

describe('telemetry channels (real collector)', () => {
  let sg: CollectorProcess;
  const clients: WsTestClient[] = [];
  const connect = async (): Promise<WsTestClient> => {
    const c = await WsTestClient.connect(sg.wsUrl);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    sg = await startCollector({ config: CONFIG });
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await sg?.stop();
    sg?.cleanup();
  });

  test('behaviour: an events channel keeps level, message and attributes, in order, for the logs panel', async () => {
    const c = await connect();
    const sub = await c.subscribe('app/events');
    expect(sub.type).toBe('subscribed');
    const r = await publish(sg.url, {
      messages: [
        { channel: 'app/events', data: { level: 'info', message: 'started', device: 'gate-a' } },
        { channel: 'app/events', data: { level: 'critical', message: 'camera offline', device: 'gate-b' } },
      ],
    });
    expect(r.status).toBe(200);
    await c.waitForOffset('app/events', 2);
    expect(c.messages.get('app/events')!.map((m) => m.data)).toEqual([
      { level: 'info', message: 'started', device: 'gate-a' },
      { level: 'critical', message: 'camera offline', device: 'gate-b' },
    ]);
    const h = (await (await fetch(`${sg.url}/api/v1/messages?channel=app/events`)).json()) as any;
    expect(h.messages.map((m: any) => m.data.level)).toEqual(['info', 'critical']);
  });

  test('behaviour: subscribing to a state channel sends the latest value per key first, then changes', async () => {
    await publish(sg.url, {
      messages: [
        { channel: 'app/components', data: { component: 'camera', status: 'online', detail: 'ok' } },
        { channel: 'app/components', data: { component: 'cloud', status: 'online', detail: 'ok' } },
        { channel: 'app/components', data: { component: 'camera', status: 'degraded', detail: 'frame drops' } },
      ],
    });
    const c = await connect();
    const sub = await c.subscribe('app/components');
    expect(sub).toMatchObject({ type: 'subscribed', kind: 'state', offset: 3 });
    const snap = await c.waitFor((f) => f.type === 'messages' && f.channel === 'app/components' && f.snapshot === true);
    expect(byKey(snap.messages)).toEqual({
      camera: { component: 'camera', status: 'degraded', detail: 'frame drops' },
      cloud: { component: 'cloud', status: 'online', detail: 'ok' },
    });
    await publish(sg.url, { channel: 'app/components', data: { component: 'cloud', status: 'offline', detail: 'ETIMEDOUT' } });
    const change = await c.waitFor((f) => f.type === 'messages' && f.channel === 'app/components' && !f.snapshot);
    expect(change.messages).toEqual([
      expect.objectContaining({ offset: 4, key: 'cloud', data: { component: 'cloud', status: 'offline', detail: 'ETIMEDOUT' } }),
    ]);

    const rest = await snapshot(sg, 'app/components');
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ channel: 'app/components', kind: 'state', keyField: 'component', lastOffset: 4, count: 2 });
    expect(byKey(rest.body.messages)).toEqual({
      camera: { component: 'camera', status: 'degraded', detail: 'frame drops' },
      cloud: { component: 'cloud', status: 'offline', detail: 'ETIMEDOUT' },
    });
    expect(rest.body.more).toBe(false);
    // limit keeps the most recently updated keys and says some were left out.
    const one = await fetch(`${sg.url}/api/v1/snapshot?channel=app/components&limit=1`).then((r) => r.json() as Promise<any>);
    expect(one).toMatchObject({ count: 1, more: true, messages: [{ key: 'cloud', offset: 4 }] });
  });

  test('behaviour: entities are upserted, deleted and expired by TTL, and the aggregates follow to the unit', async () => {
    const c = await connect();
    await c.subscribe('tv/conns');
    const t0 = Date.now() - 60_000;
    const r = await publish(sg.url, {
      messages: [
        { channel: 'tv/conns', data: { id: 'a', country: 'US', stream: 'news', bitrate_bps: 1000, bytes: 10, started_at: t0 } },
        { channel: 'tv/conns', data: { id: 'b', country: 'US', stream: 'sports', bitrate_bps: 2000, bytes: 20, started_at: t0 } },
        { channel: 'tv/conns', data: { id: 'c', country: 'DE', stream: 'news', bitrate_bps: 4000, bytes: 40, started_at: t0 } },
        { channel: 'tv/conns', ttl: 600, data: { id: 'd', country: 'DE', stream: 'sports', bitrate_bps: 8000, bytes: 80, started_at: t0 } },
      ],
    });
    expect(r.status).toBe(200);
    let rows = await waitForRows(sg, (x) => x.total?.count === 4);
    expect(rows.total).toMatchObject({ count: 4, bitrate_bps: 15000, bytes: 150, ended: 0 });
    expect(rows['country=US']).toMatchObject({ group: 'country', value: 'US', count: 2, bitrate_bps: 3000, bytes: 30 });
    expect(rows['country=DE']).toMatchObject({ count: 2, bitrate_bps: 12000, bytes: 120 });
    expect(rows['stream=news']).toMatchObject({ count: 2, bitrate_bps: 5000 });
    expect(rows['stream=sports']).toMatchObject({ count: 2, bitrate_bps: 10000 });

    // Upsert moves a connection between groups; delete removes one; a short ttl expires one.
    await publish(sg.url, {
      messages: [
        { channel: 'tv/conns', data: { id: 'a', country: 'US', stream: 'sports', bitrate_bps: 1500, bytes: 300, started_at: t0 } },
        { channel: 'tv/conns', key: 'b', delete: true, data: { reason: 'closed' } },
        { channel: 'tv/conns', ttl: 0.3, data: { id: 'c', country: 'DE', stream: 'news', bitrate_bps: 4000, bytes: 50, started_at: t0 } },
      ],
    });
    rows = await waitForRows(sg, (x) => x.total?.count === 2 && x.total?.ended === 2);
    expect(rows.total).toMatchObject({ count: 2, bitrate_bps: 9500, bytes: 380, ended: 2 });
    expect(rows['country=US']).toMatchObject({ count: 1, bitrate_bps: 1500, bytes: 300, ended: 1 });
    expect(rows['country=DE']).toMatchObject({ count: 1, bitrate_bps: 8000, bytes: 80, ended: 1 });
    expect(rows['stream=news']).toMatchObject({ count: 0, bitrate_bps: 0, bytes: 0, ended: 1 });
    expect(rows['stream=sports']).toMatchObject({ count: 2, bitrate_bps: 9500, bytes: 380, ended: 1 });
    // Durations of ended connections: from started_at (a minute ago) to the delete.
    expect(rows.total.avg_duration_s).toBeGreaterThanOrEqual(60);
    expect(rows.total.avg_duration_s).toBeLessThanOrEqual((Date.now() - t0) / 1000);

    const snap = await snapshot(sg, 'tv/conns');
    expect(Object.keys(byKey(snap.body.messages)).sort()).toEqual(['a', 'd']);
    // The expiry is a delete message on the channel, like any other.
    const expired = await c.waitFor((f) => f.type === 'messages' && f.messages.some((m: any) => m.key === 'c' && m.deleted));
    expect(expired.messages.find((m: any) => m.key === 'c' && m.deleted).data).toEqual({ reason: 'expired' });
    const closed = (c.messages.get('tv/conns') ?? []).find((m) => m.key === 'b' && m.deleted);
    expect(closed?.data).toEqual({ reason: 'closed' });
  });

  test('behaviour: upserting again without ttl keeps an entity that had a ttl', async () => {
    await publish(sg.url, { channel: 'tv/conns', ttl: 0.2, data: { id: 'keep', country: 'FR', stream: 'news', bitrate_bps: 1, bytes: 1 } });
    await publish(sg.url, { channel: 'tv/conns', data: { id: 'keep', country: 'FR', stream: 'news', bitrate_bps: 1, bytes: 2 } });
    // A probe with the same ttl, published after: once the TTL sweep has expired it, the sweep has
    // also passed the first ttl of `keep`. Waits for that event, not for an interval.
    await publish(sg.url, {
      channel: 'tv/conns',
      ttl: 0.2,
      data: { id: 'probe', country: 'FR', stream: 'news', bitrate_bps: 1, bytes: 1 },
    });
    await waitUntil('the probe expired', async () => !('probe' in byKey((await snapshot(sg, 'tv/conns')).body.messages)));
    const snap = await snapshot(sg, 'tv/conns');
    expect(byKey(snap.body.messages).keep).toEqual({ id: 'keep', country: 'FR', stream: 'news', bitrate_bps: 1, bytes: 2 });
  });

  test('behaviour: aggregates and live entities survive a restart', async () => {
    const before = await waitForRows(sg, (x) => x['country=FR']?.count === 1);
    const total = before.total.count;
    sg = await sg.restart();
    // The restarted collector rebuilds the groups from the log and republishes them.
    const after = await waitForRows(sg, (x) => x.total?.count === total && x['country=FR']?.count === 1);
    expect(after.total.bitrate_bps).toBe(before.total.bitrate_bps);
    const r = await publish(sg.url, { channel: 'tv/conns', key: 'keep', delete: true, data: {} });
    expect(r.status).toBe(200);
    await waitForRows(sg, (x) => x.total?.count === total - 1 && x['country=FR']?.count === 0);
  });

  test('errors: a state channel without a key is refused with SG_BAD_REQUEST and nothing accepted is lost', async () => {
    const before = await snapshot(sg, 'app/components');
    const r = await publish(sg.url, {
      messages: [
        { channel: 'app/components', data: { component: 'sms', status: 'online' } },
        { channel: 'app/components', data: { status: 'offline' } },
      ],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe(ErrorCode.BadRequest);
    expect(r.body.error.message).toBe(
      'messages[1]: state channel app/components needs a key (1-256 characters) in "key" or data.component',
    );
    const after = await snapshot(sg, 'app/components');
    expect(after.body).toEqual(before.body);
  });
});

describe('telemetry.publishDerived: false (a follower instance)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({ config: { ...CONFIG, telemetry: { ...CONFIG.telemetry, publishDerived: false } } });
  });
  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behaviour: it publishes neither expiries nor aggregate rows, and still serves the entities', async () => {
    const r = await publish(sg.url, {
      channel: 'tv/conns',
      ttl: 0.1,
      data: { id: 'f', country: 'US', stream: 'news', bitrate_bps: 1, bytes: 1 },
    });
    expect(r.status).toBe(200);
    // Nothing is supposed to happen, so there is no event to wait for: several sweep intervals
    // (100 ms) past the ttl. A slow machine can only make this test miss a bug, never fail it.
    await new Promise((res) => setTimeout(res, 600));
    expect(Object.keys(byKey((await snapshot(sg, 'tv/conns')).body.messages))).toEqual(['f']);
    expect((await snapshot(sg, 'tv/conns/aggregates')).body).toMatchObject({ count: 0, lastOffset: 0 });
  });
});
