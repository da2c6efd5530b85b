/**
 * Idempotent publishes (docs/protocol.md, docs/scaling.md): a message's publish id makes a retry,
 * on any instance, return the original offset instead of storing it again. With Redis hung
 * (SIGSTOP) a publish is answered 503 although Redis stores it once it runs again: the retry with
 * the same id on the other instance finds it, so the channel holds one copy. Also: the window, the
 * SQLite store, and the channel limit checked atomically with channel creation.
 */
import Redis from 'ioredis';
import { ErrorCode } from '@streamgauge/protocol';
import { createPublisher } from '../../../sdk/src';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { readHistory, startInstances, waitForChannel } from './multi-instance';
import { type RedisProcess, startRedis } from './redis-process';

jest.setTimeout(120_000);

describe('idempotent publishes on Redis, two instances', () => {
  let redis: RedisProcess;
  const sg: CollectorProcess[] = [];
  beforeAll(async () => {
    redis = await startRedis({ persistent: true });
    await startInstances(2, redis.url, { store: { publishIdWindow: 5 } }, sg);
  });
  afterAll(async () => {
    for (const p of sg) {
      await p.stop('SIGKILL');
      p.cleanup();
    }
    await redis?.cleanup();
  });

  test('behavior: a retry with the same id on the other instance returns the original offset, marked duplicate, and stores nothing', async () => {
    const [a, b] = sg;
    const first = await publish(a.url, { messages: [{ channel: 'idem/a', id: 'm1', data: { n: 1 } }] });
    expect(first.status).toBe(200);
    await waitForChannel(b.url, 'idem/a');
    const retry = await publish(b.url, { messages: [{ channel: 'idem/a', id: 'm1', data: { n: 1 } }] });
    expect(retry.status).toBe(200);
    expect(retry.body.offsets).toEqual([{ ...first.body.offsets[0], duplicate: true }]);
    // In one batch: the known id is answered, the new one appended after it.
    const mixed = await publish(b.url, {
      messages: [
        { channel: 'idem/a', id: 'm1', data: { n: 1 } },
        { channel: 'idem/a', id: 'm2', data: { n: 2 } },
        { channel: 'idem/a', id: 'm2', data: { n: 2 } },
      ],
    });
    expect(mixed.body.offsets.map((o: any) => [o.offset, o.duplicate])).toEqual([
      [1, true],
      [2, undefined],
      [2, true],
    ]);
    expect((await readHistory(a.url, 'idem/a')).map((m) => m.data.n)).toEqual([1, 2]);
  });

  test('behavior: with Redis hung, a publish gets 503 yet is stored once Redis runs again; the retry with the same ids on the other instance finds it: one copy', async () => {
    const [a, b] = sg;
    const batch = {
      messages: [
        { channel: 'idem/hang', id: 'h1', data: { n: 1 } },
        { channel: 'idem/hang', id: 'h2', data: { n: 2 } },
      ],
    };
    await publish(a.url, { channel: 'idem/hang', data: { n: 0 } });
    await waitForChannel(b.url, 'idem/hang');
    redis.pause();
    let hung: { status: number; body: any };
    try {
      hung = await publish(a.url, batch);
    } finally {
      redis.resume();
    }
    expect(hung.status).toBe(503);
    expect(hung.body.error.code).toBe(ErrorCode.StoreUnavailable);
    // "503: retry with the same id", here on the other instance.
    let retry = await publish(b.url, batch);
    for (let i = 0; retry.status === 503 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      retry = await publish(b.url, batch);
    }
    expect(retry.status).toBe(200);
    expect(retry.body.offsets.map((o: any) => [o.offset, o.duplicate])).toEqual([
      [2, true],
      [3, true],
    ]);
    expect((await readHistory(b.url, 'idem/hang')).map((m) => m.data.n)).toEqual([0, 1, 2]);
  });

  test('behavior: an id is remembered for the newest store.publishIdWindow offsets of its channel, then a retry is stored again', async () => {
    const [a] = sg;
    await publish(a.url, { channel: 'idem/window', id: 'w0', data: { n: 0 } });
    await publish(a.url, { messages: [1, 2, 3, 4].map((n) => ({ channel: 'idem/window', id: `w${n}`, data: { n } })) });
    // offset 1 is still among the newest 5 offsets (1..5)
    expect((await publish(a.url, { channel: 'idem/window', id: 'w0', data: { n: 0 } })).body.offsets[0]).toMatchObject({
      offset: 1,
      duplicate: true,
    });
    await publish(a.url, { channel: 'idem/window', id: 'w5', data: { n: 5 } });
    // now 2..6: w0 fell out of the window and is stored again
    const again = await publish(a.url, { channel: 'idem/window', id: 'w0', data: { n: 0 } });
    expect(again.body.offsets[0]).toEqual({ channel: 'idem/window', epoch: again.body.offsets[0].epoch, offset: 7 });
    // ids are kept in a sorted set per channel, bounded by the window
    const r = new Redis(redis.url);
    try {
      expect(await r.zcard('sg:d:idem/window')).toBeLessThanOrEqual(5);
    } finally {
      r.disconnect();
    }
  });

  test('behavior: the SDK publisher gives every message an id and retries with it: an answer lost after the append stores nothing twice', async () => {
    const [a, b] = sg;
    let calls = 0;
    // The first request reaches the collector and is stored, but its answer is "lost"; the retry
    // goes to the other instance.
    const lossy: typeof fetch = async (input, init) => {
      calls++;
      if (calls === 1) {
        await fetch(input, init);
        throw new TypeError('socket hang up');
      }
      return fetch(String(input).replace(a.url, b.url), init);
    };
    const pub = createPublisher({ url: a.url, fetch: lossy, retryBaseMs: 10, lingerMs: 1 });
    const results = await Promise.all([1, 2, 3].map((n) => pub.publish({ channel: 'idem/sdk', data: { n } })));
    await pub.close();
    expect(calls).toBe(2);
    expect(results.map((r) => r.offset)).toEqual([1, 2, 3]);
    expect((await readHistory(b.url, 'idem/sdk')).map((m) => m.data.n)).toEqual([1, 2, 3]);
  });

  test('behavior: an id that is not a string of 1-128 characters is refused with 400 SG_BAD_REQUEST', async () => {
    const r = await publish(sg[0].url, { channel: 'idem/bad', id: 'x'.repeat(129), data: { n: 1 } });
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual({
      code: ErrorCode.BadRequest,
      message: `messages[0].id: must be a string of 1-128 characters, got "${'x'.repeat(129)}"`,
    });
  });
});

describe('channel limit on Redis, two instances', () => {
  let redis: RedisProcess;
  const sg: CollectorProcess[] = [];
  const MAX = 8;
  beforeAll(async () => {
    redis = await startRedis({ persistent: false });
    await startInstances(2, redis.url, { channels: { maxChannels: MAX } }, sg);
  });
  afterAll(async () => {
    for (const p of sg) {
      await p.stop('SIGKILL');
      p.cleanup();
    }
    await redis?.cleanup();
  });

  test('behavior: 20 concurrent creators on two instances never pass channels.maxChannels; the others get 409 SG_CHANNEL_LIMIT', async () => {
    const r = new Redis(redis.url);
    try {
      const existing = await r.scard('sg:channels');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => publish(sg[i % 2].url, { channel: `cap/c${i}`, data: { i } })),
      );
      const ok = results.filter((x) => x.status === 200).length;
      expect(ok).toBe(MAX - existing);
      for (const x of results.filter((y) => y.status !== 200)) {
        expect(x.status).toBe(409);
        expect(x.body.error.code).toBe(ErrorCode.ChannelLimit);
      }
      expect(await r.scard('sg:channels')).toBe(MAX);
    } finally {
      r.disconnect();
    }
  });
});

describe('idempotent publishes on SQLite', () => {
  let c: CollectorProcess;
  beforeAll(async () => {
    c = await startCollector({ config: { store: { publishIdWindow: 3 } } });
  });
  afterAll(async () => {
    await c?.stop();
    c?.cleanup();
  });

  test('behavior: a retry with the same id returns the original offset, also after a restart, until it leaves the window', async () => {
    const first = await publish(c.url, { channel: 'idem/lite', id: 'a', data: { n: 1 } });
    expect(first.body.offsets[0].offset).toBe(1);
    c = await c.restart();
    expect((await publish(c.url, { channel: 'idem/lite', id: 'a', data: { n: 1 } })).body.offsets[0]).toEqual({
      ...first.body.offsets[0],
      duplicate: true,
    });
    await publish(c.url, { messages: [2, 3, 4].map((n) => ({ channel: 'idem/lite', id: `x${n}`, data: { n } })) });
    expect((await publish(c.url, { channel: 'idem/lite', id: 'a', data: { n: 1 } })).body.offsets[0].offset).toBe(5);
    expect((await readHistory(c.url, 'idem/lite')).map((m) => m.data.n)).toEqual([1, 2, 3, 4, 1]);
  });

  test('behavior: 20 concurrent creators on one instance never pass channels.maxChannels', async () => {
    const before = ((await (await fetch(`${c.url}/api/v1/channels`)).json()) as { channels: unknown[] }).channels.length;
    const c2 = await startCollector({ config: { channels: { maxChannels: before + 3 } } });
    try {
      const n0 = ((await (await fetch(`${c2.url}/api/v1/channels`)).json()) as { channels: unknown[] }).channels.length;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => publish(c2.url, { channel: `cap/s${i}`, data: { i } })));
      expect(results.filter((x) => x.status === 200).length).toBe(before + 3 - n0);
      const after = ((await (await fetch(`${c2.url}/api/v1/channels`)).json()) as { channels: unknown[] }).channels.length;
      expect(after).toBe(before + 3);
    } finally {
      await c2.stop();
      c2.cleanup();
    }
  });
});
