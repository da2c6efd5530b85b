/**
 * Scale-out on Redis Streams, end to end: a real redis-server with an append-only file, three real
 * collector processes and real WebSocket clients. Offsets are shared, every instance delivers every
 * channel, clients resume on another instance with no gap and no duplicate, and a Redis restart
 * turns into 503s and an error frame, then delivery resumes where it stopped.
 */
import Redis from 'ioredis';
import { CloseCode, ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import {
  ResumingSubscriber,
  type SseEvent,
  publishOk,
  readSse,
  sleep,
  startInstance,
  startInstances,
  waitForChannel,
  waitForReady,
} from './multi-instance';
import { type RedisProcess, startRedis } from './redis-process';

describe('Redis store with three collector instances (persistent Redis)', () => {
  let redis: RedisProcess;
  const sg: CollectorProcess[] = [];
  const extra: CollectorProcess[] = [];
  const subs: ResumingSubscriber[] = [];
  const clients: WsTestClient[] = [];

  beforeAll(async () => {
    redis = await startRedis({ persistent: true });
    await startInstances(3, redis.url, { channels: { definitions: [{ name: 'snap/state', kind: 'state', keyField: 'id' }] } }, sg);
  });

  afterAll(async () => {
    for (const s of subs) {
      s.close();
    }
    for (const c of clients) {
      c.close();
    }
    for (const p of [...sg, ...extra]) {
      await p.stop('SIGKILL');
      p.cleanup();
    }
    await redis?.cleanup();
  });

  test('behavior: publishes on one instance reach subscribers on the other two, in order, with shared offsets', async () => {
    const [a, b, c] = sg;
    const first = await publishOk(a.url, 'fan/out', [0]);
    expect(first[0].offset).toBe(1);
    await waitForChannel(b.url, 'fan/out');
    await waitForChannel(c.url, 'fan/out');
    const onB = new ResumingSubscriber('fan/out');
    const onC = new ResumingSubscriber('fan/out');
    subs.push(onB, onC);
    const rb = await onB.connect(b.wsUrl, { epoch: first[0].epoch, offset: 0 });
    const rc = await onC.connect(c.wsUrl, { epoch: first[0].epoch, offset: 0 });
    expect(rb).toMatchObject({ type: 'subscribed', epoch: first[0].epoch, recovered: true, offset: 0 });
    expect(rc).toMatchObject({ type: 'subscribed', epoch: first[0].epoch, recovered: true, offset: 0 });

    // All three instances publish to the same channel at once: offsets stay one sequence.
    const results = await Promise.all(
      [a, b, c].map(async (p, i) => {
        const offsets: number[] = [];
        for (let k = 0; k < 20; k++) {
          const r = await publishOk(p.url, 'fan/out', [i * 1000 + k, i * 1000 + k + 500]);
          offsets.push(...r.map((x) => x.offset));
          expect(r.every((x) => x.epoch === first[0].epoch)).toBe(true);
        }
        return offsets;
      }),
    );
    const all = results.flat().sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 120 }, (_, i) => i + 2));

    await onB.waitForOffset(121);
    await onC.waitForOffset(121);
    for (const s of [onB, onC]) {
      expect(s.received).toEqual(Array.from({ length: 121 }, (_, i) => i + 1));
      expect(s.gapsAndDuplicates()).toEqual({ gaps: 0, duplicates: 0 });
    }
    // History is the same on every instance.
    const hist = await Promise.all(
      sg.map(async (p) => (await (await fetch(`${p.url}/api/v1/messages?channel=fan/out&limit=500`)).json()) as any),
    );
    for (const h of hist) {
      expect(h.messages.map((m: any) => m.offset)).toEqual(Array.from({ length: 121 }, (_, i) => i + 1));
      expect(h.messages.map((m: any) => m.data.seq)).toEqual(hist[0].messages.map((m: any) => m.data.seq));
    }
  });

  test('behavior: a batch too large to travel in the notice (over 64 KiB) reaches the other instances by a range read', async () => {
    const [a, b] = sg;
    const first = await publishOk(a.url, 'big/batch', [0]);
    await waitForChannel(b.url, 'big/batch');
    const onB = new ResumingSubscriber('big/batch');
    subs.push(onB);
    await onB.connect(b.wsUrl, { epoch: first[0].epoch, offset: 0 });
    const pad = 'p'.repeat(1000);
    const r = await publish(a.url, {
      messages: Array.from({ length: 200 }, (_, i) => ({ channel: 'big/batch', data: { seq: i + 1, pad } })),
    });
    expect(r.status).toBe(200);
    // Nothing is published after it: only the range notice can bring these to B.
    await onB.waitForOffset(201);
    expect(onB.received).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
  });

  test('behavior: when Redis drops the notice connections, subscribers stay connected and get what they missed after the resync', async () => {
    const [a, b] = sg;
    const first = await publishOk(a.url, 'notice/drop', [0]);
    await waitForChannel(b.url, 'notice/drop');
    const onB = new ResumingSubscriber('notice/drop');
    subs.push(onB);
    await onB.connect(b.wsUrl, { epoch: first[0].epoch, offset: 0 });
    await onB.waitForOffset(1);
    const admin = new Redis(redis.url);
    try {
      // What Redis does to a subscriber over client-output-buffer-limit: cut its connection.
      expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThanOrEqual(3);
    } finally {
      admin.disconnect();
    }
    // Published while B's notice connection is down; nothing is published after them.
    await publishOk(a.url, 'notice/drop', [1, 2, 3]);
    await onB.waitForOffset(4);
    expect(onB.received).toEqual([1, 2, 3, 4]);
    expect(onB.client.closeCode).toBeNull();
  });

  test('behavior: an SSE client fed by one instance resumes on another with Last-Event-ID, exactly after its last message', async () => {
    const [a, b, c] = sg;
    await publishOk(a.url, 'sse/x', [0]);
    await waitForChannel(b.url, 'sse/x');
    await waitForChannel(c.url, 'sse/x');
    const countMsgs = (ev: SseEvent[]) => ev.filter((e) => e.event === 'messages').flatMap((e) => e.data.messages).length;
    const firstRun = readSse(`${b.url}/api/v1/stream?channels=sse/x&last=1`, {}, (ev) => countMsgs(ev) >= 3);
    await sleep(200);
    await publishOk(a.url, 'sse/x', [1, 2]);
    const ev1 = await firstRun;
    const msgs1 = ev1.filter((e) => e.event === 'messages');
    expect(msgs1.flatMap((e) => e.data.messages.map((m: any) => m.data.seq))).toEqual([0, 1, 2]);
    const lastId = msgs1[msgs1.length - 1].id!;
    expect(lastId).toMatch(/^sse\/x:[a-z0-9]+:3$/);

    await publishOk(a.url, 'sse/x', [3, 4]);
    const ev2 = await readSse(`${c.url}/api/v1/stream?channels=sse/x`, { 'last-event-id': lastId }, (ev) => countMsgs(ev) >= 2);
    expect(ev2.find((e) => e.event === 'subscribed')!.data).toMatchObject({ channel: 'sse/x', offset: 3, recovered: true });
    expect(ev2.filter((e) => e.event === 'messages').flatMap((e) => e.data.messages.map((m: any) => [m.offset, m.data.seq]))).toEqual([
      [4, 3],
      [5, 4],
    ]);
  });

  test('behavior: a channel created on one instance shows on the others with the schema inferred from its messages', async () => {
    const [a, b, c] = sg;
    await publishOk(a.url, 'schema/shared', [7]);
    for (const p of [b, c]) {
      const info = await waitForChannel(p.url, 'schema/shared', undefined, (ch) => ch.lastOffset >= 1);
      expect(info).toMatchObject({ kind: 'stream', lastOffset: 1, schema: { declared: false, fields: [{ name: 'seq', type: 'number' }] } });
    }
  });

  test('behavior: state snapshots are shared: a subscriber on another instance gets the latest value per key', async () => {
    const [a, b] = sg;
    for (const [id, v] of [
      ['x', 1],
      ['y', 2],
      ['x', 3],
    ] as const) {
      expect((await publish(a.url, { channel: 'snap/state', data: { id, v } })).status).toBe(200);
    }
    const c = await WsTestClient.connect(b.wsUrl);
    clients.push(c);
    const reply = await c.subscribe('snap/state');
    expect(reply).toMatchObject({ type: 'subscribed', kind: 'state', offset: 3 });
    const snap = await c.waitFor((f) => f.type === 'messages' && f.snapshot === true);
    expect(snap.messages.map((m: any) => [m.key, m.data.v, m.offset])).toEqual([
      ['y', 2, 2],
      ['x', 3, 3],
    ]);
  });

  /** 20 clients on a fresh instance, publishing through `via` all along; the instance is killed and they resume on `rescue`. */
  async function failover(channel: string, via: CollectorProcess, rescue: CollectorProcess): Promise<void> {
    const victim = await startInstance(redis.url);
    extra.push(victim);
    const first = await publishOk(via.url, channel, [0]);
    await waitForChannel(victim.url, channel);
    const moving: ResumingSubscriber[] = [];
    for (let i = 0; i < 20; i++) {
      const s = new ResumingSubscriber(channel);
      subs.push(s);
      moving.push(s);
      await s.connect(victim.wsUrl, { epoch: first[0].epoch, offset: 0 });
    }
    let seq = 1;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await publishOk(via.url, channel, [seq++, seq++]);
        await sleep(2);
      }
    })();
    await sleep(300);
    await victim.stop('SIGKILL');
    // The clients notice the dead socket and reconnect to another instance, resuming from their position.
    await Promise.all(moving.map((s) => s.connect(rescue.wsUrl)));
    await sleep(300);
    publishing = false;
    await publisher;
    const last = (await publishOk(via.url, channel, [-1]))[0].offset;
    for (const s of moving) {
      await s.waitForOffset(last);
      expect(s.gapsAndDuplicates()).toEqual({ gaps: 0, duplicates: 0 });
      expect(s.received[0]).toBe(1);
      expect(s.received.length).toBe(last);
    }
  }

  test('behavior: when an instance dies, its clients resume on another with zero gaps and zero duplicates', async () => {
    await failover('fail/over', sg[0], sg[1]);
  });

  test('behavior: an instance started later serves the existing channels with their offsets, epochs and history', async () => {
    const first = await publishOk(
      sg[0].url,
      'late/join',
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    const late = await startInstance(redis.url);
    extra.push(late);
    const list = (await (await fetch(`${late.url}/api/v1/channels`)).json()) as any;
    const info = list.channels.find((c: any) => c.name === 'late/join');
    expect(info).toMatchObject({ epoch: first[0].epoch, lastOffset: 10, firstOffset: 1, count: 10 });
    expect(info.schema.fields).toEqual([expect.objectContaining({ name: 'seq', type: 'number' })]);
    const s = new ResumingSubscriber('late/join');
    subs.push(s);
    await s.connect(late.wsUrl, { epoch: first[0].epoch, offset: 6 });
    await publishOk(sg[1].url, 'late/join', [11]);
    await s.waitForOffset(11);
    expect(s.received).toEqual([7, 8, 9, 10, 11]);
  });

  test('behavior: Redis down makes readiness false, publishes answer 503 SG_STORE_UNAVAILABLE, WebSocket subscribers are closed with 4504, SSE ones told; all resume when Redis returns', async () => {
    const [a, b, c] = sg;
    const first = await publishOk(a.url, 'redis/restart', [0]);
    await waitForChannel(b.url, 'redis/restart');
    await waitForChannel(c.url, 'redis/restart');
    const onB = new ResumingSubscriber('redis/restart');
    const onC = new ResumingSubscriber('redis/restart');
    subs.push(onB, onC);
    await onB.connect(b.wsUrl, { epoch: first[0].epoch, offset: 0 });
    await onC.connect(c.wsUrl, { epoch: first[0].epoch, offset: 0 });
    await publishOk(b.url, 'redis/restart', [1, 2, 3]);
    await onC.waitForOffset(4);

    // An SSE client stays connected through the outage: it is told, then resumes by itself.
    const sse = readSse(
      `${c.url}/api/v1/stream?channels=redis/restart`,
      { 'last-event-id': `redis/restart:${first[0].epoch}:4` },
      (ev) => ev.some((e) => e.event === 'messages' && e.data.messages.some((m: any) => m.offset === 6)),
      60_000,
    );
    await sleep(200);

    // A crash: with appendfsync always, everything acknowledged is on disk.
    await redis.stop('SIGKILL');
    for (const s of [onB, onC]) {
      expect(await s.client.waitForClose()).toBe(CloseCode.StoreUnavailable);
    }
    for (const p of sg) {
      await waitForReady(p.url, false);
    }
    const refused = await publish(a.url, { channel: 'redis/restart', data: { seq: 99 } });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe(ErrorCode.StoreUnavailable);

    // One client reconnects during the outage (to another instance), the other once Redis is back.
    const during = await onB.connect(a.wsUrl);
    expect(during).toMatchObject({ type: 'subscribed', epoch: first[0].epoch, offset: 4, recovered: true });
    await redis.start();
    for (const p of sg) {
      await waitForReady(p.url, true);
    }
    const afterwards = await onC.connect(b.wsUrl);
    expect(afterwards).toMatchObject({ type: 'subscribed', epoch: first[0].epoch, offset: 4, recovered: true });
    const after = await publishOk(c.url, 'redis/restart', [4, 5]);
    expect(after.map((x) => x.offset)).toEqual([5, 6]);
    expect(after[0].epoch).toBe(first[0].epoch);
    await onB.waitForOffset(6);
    await onC.waitForOffset(6);
    for (const s of [onB, onC]) {
      expect(s.received).toEqual([1, 2, 3, 4, 5, 6]);
      expect(s.epoch).toBe(first[0].epoch);
    }
    const sseEvents = await sse;
    expect(sseEvents.find((e) => e.event === 'error')!.data).toMatchObject({ type: 'error', code: ErrorCode.StoreUnavailable });
    expect(sseEvents.filter((e) => e.event === 'messages').flatMap((e) => e.data.messages.map((m: any) => m.offset))).toEqual([5, 6]);

    // The refused publish was not kept.
    const h = (await (await fetch(`${a.url}/api/v1/messages?channel=redis/restart&limit=100`)).json()) as any;
    expect(h.messages.map((m: any) => m.data.seq)).toEqual([0, 1, 2, 3, 4, 5]);

    // A client that resumes after the restart, on any instance, continues from its position.
    const late = await WsTestClient.connect(a.wsUrl);
    clients.push(late);
    const reply = await late.subscribe('redis/restart', { epoch: first[0].epoch, offset: 4 });
    expect(reply).toMatchObject({ type: 'subscribed', recovered: true, offset: 4 });
    await late.waitForOffset('redis/restart', 6);
    expect(late.gapsAndDuplicates('redis/restart', 5)).toEqual({ gaps: 0, duplicates: 0 });
  });

  test('behavior: after the Redis restart, fan-out across instances and failover with zero gaps and duplicates still hold', async () => {
    const [a, b, c] = sg;
    const first = await publishOk(c.url, 'after/restart', [0]);
    await waitForChannel(a.url, 'after/restart');
    await waitForChannel(b.url, 'after/restart');
    const onA = new ResumingSubscriber('after/restart');
    const onB = new ResumingSubscriber('after/restart');
    subs.push(onA, onB);
    await onA.connect(a.wsUrl, { epoch: first[0].epoch, offset: 0 });
    await onB.connect(b.wsUrl, { epoch: first[0].epoch, offset: 0 });
    await publishOk(c.url, 'after/restart', [1, 2, 3]);
    for (const s of [onA, onB]) {
      await s.waitForOffset(4);
      expect(s.received).toEqual([1, 2, 3, 4]);
    }
    await failover('after/restart/failover', b, c);
  });
});
