/**
 * What the Redis log answers, through the collector's REST and WebSocket: time and offset ranges,
 * tail, retention by count, entity deletes and snapshots; read on an instance that did not accept
 * the messages.
 */
import { type CollectorProcess, publish } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { publishOk, sleep, startInstances, waitForChannel } from './multi-instance';
import { type RedisProcess, startRedis } from './redis-process';

async function history(url: string, query: string): Promise<any> {
  const r = await fetch(`${url}/api/v1/messages?${query}`);
  expect(r.status).toBe(200);
  return r.json();
}

describe('Redis log queries', () => {
  let redis: RedisProcess;
  const sg: CollectorProcess[] = [];
  const clients: WsTestClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    await startInstances(
      2,
      redis.url,
      {
        retention: { checkIntervalMs: 100 },
        channels: {
          definitions: [
            { name: 'keep/five', retention: { maxMessages: 5 } },
            { name: 'things/live', kind: 'entity', keyField: 'id' },
          ],
        },
      },
      sg,
    );
  });

  afterAll(async () => {
    for (const c of clients) {
      c.close();
    }
    for (const p of sg) {
      await p.stop('SIGKILL');
      p.cleanup();
    }
    await redis?.cleanup();
  });

  test('behavior: from/to select by time, after by offset, tail takes the newest, more says when limit cut', async () => {
    const [a, b] = sg;
    await publishOk(a.url, 'time/q', [1, 2, 3]);
    await sleep(30);
    const t1 = Date.now();
    await sleep(30);
    await publishOk(a.url, 'time/q', [4, 5, 6]);
    await sleep(30);
    const t2 = Date.now();
    await sleep(30);
    await publishOk(a.url, 'time/q', [7, 8]);
    await waitForChannel(b.url, 'time/q');
    const seqs = (h: any) => h.messages.map((m: any) => m.data.seq);
    expect(seqs(await history(b.url, `channel=time/q&from=${t1}`))).toEqual([4, 5, 6, 7, 8]);
    expect(seqs(await history(b.url, `channel=time/q&to=${t1}`))).toEqual([1, 2, 3]);
    expect(seqs(await history(b.url, `channel=time/q&from=${t1}&to=${t2}`))).toEqual([4, 5, 6]);
    expect(seqs(await history(b.url, 'channel=time/q&after=5'))).toEqual([6, 7, 8]);
    const tail = await history(b.url, 'channel=time/q&tail=1&limit=2');
    expect(tail).toMatchObject({ more: true, firstOffset: 1, lastOffset: 8 });
    expect(seqs(tail)).toEqual([7, 8]);
    const head = await history(b.url, 'channel=time/q&limit=3');
    expect(head.more).toBe(true);
    expect(seqs(head)).toEqual([1, 2, 3]);
    expect(seqs(await history(b.url, `channel=time/q&from=${Date.now() + 60_000}`))).toEqual([]);
  });

  test('behavior: retention by count keeps the newest messages; a resume from an evicted offset is recovered:false expired', async () => {
    const [a, b] = sg;
    const r = await publishOk(
      a.url,
      'keep/five',
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    const deadline = Date.now() + 10_000;
    let h: any;
    do {
      await sleep(100);
      h = await history(b.url, 'channel=keep/five&limit=100');
    } while (h.messages.length !== 5 && Date.now() < deadline);
    expect(h.messages.map((m: any) => m.offset)).toEqual([16, 17, 18, 19, 20]);
    const c = await WsTestClient.connect(b.wsUrl);
    clients.push(c);
    let reply: any;
    do {
      // The instance learns the new first offset at its next retention pass.
      if (reply) {
        await sleep(100);
        c.send({ op: 'unsubscribe', channel: 'keep/five' });
        await c.waitFor((f) => f.type === 'unsubscribed');
      }
      reply = await c.subscribe('keep/five', { epoch: r[0].epoch, offset: 3 });
    } while (reply.firstOffset !== 16 && Date.now() < deadline);
    expect(reply).toMatchObject({ type: 'subscribed', recovered: false, reason: 'expired', firstOffset: 16, offset: 15 });
    await c.waitForOffset('keep/five', 20);
    expect(c.messages.get('keep/five')!.map((m) => m.offset)).toEqual([16, 17, 18, 19, 20]);
  });

  test('behavior: entity upserts and deletes from one instance make the snapshot on another', async () => {
    const [a, b] = sg;
    for (const body of [
      { channel: 'things/live', data: { id: 'a', v: 1 } },
      { channel: 'things/live', data: { id: 'b', v: 2 } },
      { channel: 'things/live', data: { id: 'a' }, delete: true },
      { channel: 'things/live', data: { id: 'c', v: 3 } },
    ]) {
      expect((await publish(a.url, body)).status).toBe(200);
    }
    const c = await WsTestClient.connect(b.wsUrl);
    clients.push(c);
    await c.subscribe('things/live');
    const snap = await c.waitFor((f) => f.type === 'messages' && f.snapshot === true);
    expect(snap.messages.map((m: any) => [m.key, m.data.v])).toEqual([
      ['b', 2],
      ['c', 3],
    ]);
    // Live, through the notice: a key with quotes, a backslash, a tab, a newline and non-ASCII survives.
    const odd = 'ü "q" \\ tab\tnl\n✓';
    expect((await publish(a.url, { channel: 'things/live', data: { id: odd, v: 4, text: 'line\nbreak\ttab "x"' } })).status).toBe(200);
    const live = await c.waitFor((f) => f.type === 'messages' && !f.snapshot);
    expect(live.messages).toEqual([
      expect.objectContaining({ offset: 5, key: odd, data: { id: odd, v: 4, text: 'line\nbreak\ttab "x"' } }),
    ]);
    const h = await history(b.url, 'channel=things/live&limit=4');
    expect(h.messages.map((m: any) => [m.offset, m.key, m.deleted ?? false])).toEqual([
      [1, 'a', false],
      [2, 'b', false],
      [3, 'a', true],
      [4, 'c', false],
    ]);
  });
});
