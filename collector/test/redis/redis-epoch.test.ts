/**
 * Redis restarted WITHOUT persistence loses every stream: the channels get a new epoch (the same on
 * every instance), subscribers are told recovered:false with reason epoch_changed, and delivery
 * continues in the new epoch from offset 1.
 */
import Redis from 'ioredis';
import { CloseCode, ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { ResumingSubscriber, publishOk, startInstances, waitForChannel, waitForReady } from './multi-instance';
import { type RedisProcess, startRedis } from './redis-process';

/**
 * Two collector instances on a fresh, non-persistent Redis for one describe block, with every
 * process and client stopped after it. `redis` is set once beforeAll has run.
 */
function twoInstancesOnFreshRedis(): { redis: RedisProcess; sg: CollectorProcess[]; subs: ResumingSubscriber[]; clients: WsTestClient[] } {
  const env = {
    redis: undefined as unknown as RedisProcess,
    sg: [] as CollectorProcess[],
    subs: [] as ResumingSubscriber[],
    clients: [] as WsTestClient[],
  };
  beforeAll(async () => {
    env.redis = await startRedis({ persistent: false });
    await startInstances(2, env.redis.url, {}, env.sg);
  });
  afterAll(async () => {
    for (const s of env.subs) {
      s.close();
    }
    for (const c of env.clients) {
      c.close();
    }
    for (const p of env.sg) {
      await p.stop('SIGKILL');
      p.cleanup();
    }
    await env.redis?.cleanup();
  });
  return env;
}

describe('Redis store, Redis restarted without persistence', () => {
  const env = twoInstancesOnFreshRedis();
  const { sg, subs, clients } = env;

  test('behavior: history lost in Redis gives every instance one new epoch; subscribers are closed with 4504, then get recovered:false epoch_changed and continue', async () => {
    const [a, b] = sg;
    const before = await publishOk(a.url, 'lost/history', [1, 2, 3]);
    const oldEpoch = before[0].epoch;
    await waitForChannel(b.url, 'lost/history');
    const onB = new ResumingSubscriber('lost/history');
    subs.push(onB);
    await onB.connect(b.wsUrl, { epoch: oldEpoch, offset: 0 });
    await onB.waitForOffset(3);

    await env.redis.stop('SIGKILL');
    expect(await onB.client.waitForClose()).toBe(CloseCode.StoreUnavailable);
    await waitForReady(a.url, false);
    await waitForReady(b.url, false);
    // Reconnected during the outage: the instance cannot know yet that the history will be lost.
    const during = await onB.connect(b.wsUrl);
    expect(during).toMatchObject({ type: 'subscribed', epoch: oldEpoch, offset: 3, recovered: true });
    await env.redis.start();
    await waitForReady(a.url, true);
    await waitForReady(b.url, true);

    // When Redis is back the open subscription is reset in place to the new epoch.
    const reset = await onB.client.waitFor((f) => f.type === 'subscribed' && f.reason === 'epoch_changed');
    expect(reset).toMatchObject({ channel: 'lost/history', recovered: false, offset: 0, lastOffset: 0 });
    expect(reset.epoch).not.toBe(oldEpoch);

    const after = await publishOk(a.url, 'lost/history', [4, 5]);
    expect(after.map((x) => x.offset)).toEqual([1, 2]);
    expect(after[0].epoch).toBe(reset.epoch);
    const onBMessages = await onB.client.waitFor((f) => f.type === 'messages' && f.epoch === reset.epoch);
    expect(onBMessages.messages.map((m: any) => m.data.seq)).toEqual([4, 5]);

    // Both instances agree on the new epoch.
    for (const p of sg) {
      const list = (await (await fetch(`${p.url}/api/v1/channels`)).json()) as any;
      expect(list.channels.find((c: any) => c.name === 'lost/history')).toMatchObject({ epoch: reset.epoch, lastOffset: 2 });
    }

    // A client resuming with the old epoch, on either instance, is told its history is gone.
    const late = await WsTestClient.connect(a.wsUrl);
    clients.push(late);
    const reply = await late.subscribe('lost/history', { epoch: oldEpoch, offset: 3 });
    expect(reply).toMatchObject({ type: 'subscribed', recovered: false, reason: 'epoch_changed', epoch: reset.epoch, offset: 0 });
    await late.waitForOffset('lost/history', 2);
    expect(late.gapsAndDuplicates('lost/history')).toEqual({ gaps: 0, duplicates: 0 });
  });

  test('behavior: a channel whose metadata Redis evicted starts over in a new epoch on every instance instead of failing', async () => {
    const [a, b] = sg;
    const before = await publishOk(a.url, 'evicted/meta', [1, 2]);
    await waitForChannel(b.url, 'evicted/meta');
    const onB = new ResumingSubscriber('evicted/meta');
    subs.push(onB);
    await onB.connect(b.wsUrl, { epoch: before[0].epoch, offset: 0 });
    await onB.waitForOffset(2);
    const admin = new Redis(env.redis.url);
    try {
      await admin.del('sg:ch:evicted/meta');
    } finally {
      admin.disconnect();
    }
    const after = await publishOk(a.url, 'evicted/meta', [3]);
    expect(after[0].offset).toBe(1);
    expect(after[0].epoch).not.toBe(before[0].epoch);
    const reset = await onB.client.waitFor((f) => f.type === 'subscribed' && f.reason === 'epoch_changed');
    expect(reset.epoch).toBe(after[0].epoch);
    const h = (await (await fetch(`${b.url}/api/v1/messages?channel=evicted/meta`)).json()) as any;
    expect(h).toMatchObject({ epoch: after[0].epoch, firstOffset: 1, lastOffset: 1 });
    expect(h.messages.map((m: any) => m.data.seq)).toEqual([3]);
  });

  test('behavior: Redis out of memory answers publishes with 503 SG_STORE_UNAVAILABLE and keeps nothing of them', async () => {
    const [a] = sg;
    await publishOk(a.url, 'oom/x', [1]);
    const admin = new Redis(env.redis.url);
    try {
      await admin.config('SET', 'maxmemory', '1');
      const r = await publish(a.url, { channel: 'oom/x', data: { seq: 2 } });
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe(ErrorCode.StoreUnavailable);
      expect(r.body.error.message).toContain('OOM');
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
    const ok = await publishOk(a.url, 'oom/x', [3]);
    expect(ok[0].offset).toBe(2);
  });
});

describe('Redis restored from an older snapshot', () => {
  const env = twoInstancesOnFreshRedis();
  const { sg, subs, clients } = env;

  test('behavior: offsets Redis lost after acknowledging them are never reused in the same epoch: the channel moves to a new one', async () => {
    const [a, b] = sg;
    const before = await publishOk(a.url, 'went/back', [1, 2, 3]);
    const oldEpoch = before[0].epoch;
    const admin = new Redis(env.redis.url);
    try {
      await admin.save();
    } finally {
      admin.disconnect();
    }
    await publishOk(a.url, 'went/back', [4, 5]);
    await waitForChannel(b.url, 'went/back');
    const onB = new ResumingSubscriber('went/back');
    subs.push(onB);
    await onB.connect(b.wsUrl, { epoch: oldEpoch, offset: 0 });
    await onB.waitForOffset(5);

    // Redis comes back from the snapshot taken at offset 3: offsets 4 and 5 are gone.
    await env.redis.stop('SIGKILL');
    expect(await onB.client.waitForClose()).toBe(CloseCode.StoreUnavailable);
    await env.redis.start();
    await waitForReady(a.url, true);
    await waitForReady(b.url, true);

    const after = await publishOk(a.url, 'went/back', [40, 50]);
    expect(after.map((x) => x.offset)).toEqual([4, 5]);
    expect(after[0].epoch).not.toBe(oldEpoch);
    // Resuming at 5 in the old epoch would silently skip the new 4 and 5: it is refused instead.
    const reply = await onB.connect(b.wsUrl);
    expect(reply).toMatchObject({ type: 'subscribed', recovered: false, reason: 'epoch_changed', epoch: after[0].epoch, offset: 0 });
    const frame = await onB.client.waitFor((f) => f.type === 'messages' && f.messages.some((m: any) => m.offset === 5));
    expect(onB.client.messages.get('went/back')!.map((m) => m.data.seq)).toEqual([1, 2, 3, 40, 50]);
    expect(frame.epoch).toBe(after[0].epoch);
    const late = await WsTestClient.connect(a.wsUrl);
    clients.push(late);
    expect(await late.subscribe('went/back', { epoch: oldEpoch, offset: 3 })).toMatchObject({ recovered: false, reason: 'epoch_changed' });
  });
});
