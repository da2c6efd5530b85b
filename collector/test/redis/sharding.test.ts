/**
 * Sharding over several Redis servers (store.redis.urls): each channel lives on the server its
 * namespace hashes to, every instance agrees on it, delivery works on every shard, a batch that
 * spans shards is refused whole with SG_BAD_REQUEST (it could not be atomic), and the built-in
 * demo source, which publishes several channels per step, works on two shards.
 */
import Redis from 'ioredis';
import { ErrorCode } from '@streamgauge/protocol';
import { shardOf } from '../../src/log/redis-log';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { NO_IP_LIMITS, ResumingSubscriber, publishOk, waitForChannel } from './multi-instance';
import { type RedisProcess, startRedis } from './redis-process';

jest.setTimeout(120_000);

test('behavior: shardOf is a stable FNV-1a hash of the namespace (the same in every process and release)', () => {
  expect(shardOf('anything', 1)).toBe(0);
  // FNV-1a 32-bit of "a" is 0xe40c292c.
  expect(shardOf('a', 0x7fffffff)).toBe(0xe40c292c % 0x7fffffff);
  expect(shardOf('a/b/c', 0x7fffffff)).toBe(0xe40c292c % 0x7fffffff);
  // Every channel of a namespace on one shard: a source's batch never straddles shards.
  expect(new Set(Array.from({ length: 50 }, (_, i) => shardOf(`evm/local/c${i}`, 4))).size).toBe(1);
  const names = Array.from({ length: 400 }, (_, i) => `app${i}/c`);
  const counts = [0, 0, 0, 0];
  for (const n of names) {
    counts[shardOf(n, 4)]++;
  }
  expect(Math.min(...counts)).toBeGreaterThan(60);
});

describe('two Redis shards, two collector instances', () => {
  const redis: RedisProcess[] = [];
  const sg: CollectorProcess[] = [];
  const subs: ResumingSubscriber[] = [];
  const direct: Redis[] = [];

  beforeAll(async () => {
    redis.push(await startRedis(), await startRedis());
    const env = { SG_STORE: 'redis', SG_REDIS_URLS: redis.map((r) => r.url).join(',') };
    for (let i = 0; i < 2; i++) {
      sg.push(await startCollector({ env, config: NO_IP_LIMITS }));
    }
    for (const r of redis) {
      direct.push(new Redis(r.url));
    }
  });

  afterAll(async () => {
    for (const s of subs) {
      s.close();
    }
    for (const d of direct) {
      d.disconnect();
    }
    for (const p of sg) {
      await p.stop('SIGKILL');
      p.cleanup();
    }
    for (const r of redis) {
      await r.cleanup();
    }
  });

  // Two names whose namespaces hash to different shards, found rather than hard-coded.
  const names = Array.from({ length: 50 }, (_, i) => `shard${i}/n`);
  const on0 = names.find((n) => shardOf(n, 2) === 0)!;
  const on1 = names.find((n) => shardOf(n, 2) === 1)!;

  test('behavior: each channel is stored on the Redis its namespace hashes to, and delivered across instances', async () => {
    const [a, b] = sg;
    for (const name of [on0, on1]) {
      const first = await publishOk(a.url, name, [0]);
      await waitForChannel(b.url, name);
      const s = new ResumingSubscriber(name);
      subs.push(s);
      await s.connect(b.wsUrl, { epoch: first[0].epoch, offset: 0 });
      await publishOk(a.url, name, [1, 2, 3]);
      await s.waitForOffset(4);
      expect(s.received).toEqual([1, 2, 3, 4]);
    }
    expect(await direct[0].xlen(`sg:s:${on0}`)).toBe(4);
    expect(await direct[1].xlen(`sg:s:${on0}`)).toBe(0);
    expect(await direct[1].xlen(`sg:s:${on1}`)).toBe(4);
    expect(await direct[0].xlen(`sg:s:${on1}`)).toBe(0);
  });

  test('behavior: a batch spanning two shards is refused whole with SG_BAD_REQUEST', async () => {
    const [a] = sg;
    const before = await direct[0].xlen(`sg:s:${on0}`);
    const r = await publish(a.url, {
      messages: [
        { channel: on0, data: { seq: 100 } },
        { channel: on1, data: { seq: 100 } },
      ],
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe(ErrorCode.BadRequest);
    expect(r.body.error.message).toContain('one Redis shard');
    expect(await direct[0].xlen(`sg:s:${on0}`)).toBe(before);
  });
});

describe('the demo source on two Redis shards', () => {
  const redis: RedisProcess[] = [];
  let sg: CollectorProcess | undefined;

  beforeAll(async () => {
    redis.push(await startRedis(), await startRedis());
    const env = { SG_STORE: 'redis', SG_REDIS_URLS: redis.map((r) => r.url).join(',') };
    sg = await startCollector({ env, config: { ...NO_IP_LIMITS, demo: { enabled: true, intervalMs: 50 } } });
  });

  afterAll(async () => {
    await sg?.stop('SIGKILL');
    sg?.cleanup();
    for (const r of redis) {
      await r.cleanup();
    }
  });

  test('behavior: every demo channel keeps receiving, whichever shard its namespace is on', async () => {
    const names = ['demo/ticks', 'iptv/streams', 'pipeline/runs'];
    // The namespaces land on both shards (otherwise this test would prove nothing).
    expect(new Set(names.map((n) => shardOf(n, 2))).size).toBe(2);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const st = await (await fetch(`${sg!.url}/api/v1/status`)).json();
      const last = new Map<string, number>(st.channels.map((c: { name: string; lastOffset: number }) => [c.name, c.lastOffset]));
      if (names.every((n) => (last.get(n) ?? 0) >= 3)) {
        break;
      }
      if (Date.now() > deadline) {
        throw new Error(`demo channels did not fill: ${JSON.stringify([...last])}\n${sg!.output()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(sg!.output()).not.toContain('demo publish failed');
  });
});
