/**
 * A reconnect storm: hundreds of clients on one instance, that instance dies while publishing goes
 * on through another, and every client resumes at once on one of the two others. Counted over each client's
 * whole life: gaps 0, duplicates 0.
 */
import { type CollectorProcess } from '../helpers/collector-process';
import { ResumingSubscriber, publishOk, sleep, startInstance, startInstances, waitForChannel } from './multi-instance';
import { type RedisProcess, startRedis } from './redis-process';

jest.setTimeout(180_000);

const CLIENTS = 300;

describe('reconnect storm on the Redis store', () => {
  let redis: RedisProcess;
  const sg: CollectorProcess[] = [];
  let victim: CollectorProcess | undefined;
  const subs: ResumingSubscriber[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    await startInstances(2, redis.url, {}, sg);
    victim = await startInstance(redis.url);
  });

  afterAll(async () => {
    for (const s of subs) {
      s.close();
    }
    for (const p of [...sg, ...(victim ? [victim] : [])]) {
      await p.stop('SIGKILL');
      p.cleanup();
    }
    await redis?.cleanup();
  });

  test(`behavior: ${CLIENTS} clients resuming at once after their instance dies all recover with 0 gaps and 0 duplicates`, async () => {
    const [publisherSide, rescue] = sg;
    const first = await publishOk(publisherSide.url, 'storm/a', [0]);
    await waitForChannel(victim!.url, 'storm/a');
    for (let i = 0; i < CLIENTS; i += 50) {
      const batch = Array.from({ length: Math.min(50, CLIENTS - i) }, () => new ResumingSubscriber('storm/a'));
      subs.push(...batch);
      await Promise.all(batch.map((s) => s.connect(victim!.wsUrl, { epoch: first[0].epoch, offset: 0 })));
    }
    let seq = 1;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await publishOk(publisherSide.url, 'storm/a', [seq++, seq++, seq++, seq++]);
        await sleep(5);
      }
    })();
    await sleep(500);
    await victim!.stop('SIGKILL');
    // Every client reconnects at the same moment, each resuming from its own position.
    const replies = await Promise.all(subs.map((s, i) => s.connect((i % 2 === 0 ? rescue : publisherSide).wsUrl)));
    expect(replies.every((r) => r.type === 'subscribed' && r.recovered === true)).toBe(true);
    await sleep(500);
    publishing = false;
    await publisher;
    const last = (await publishOk(publisherSide.url, 'storm/a', [-1]))[0].offset;
    let gaps = 0;
    let duplicates = 0;
    for (const s of subs) {
      await s.waitForOffset(last, 30_000);
      const g = s.gapsAndDuplicates();
      gaps += g.gaps;
      duplicates += g.duplicates;
      expect(s.received.length).toBe(last);
    }
    expect({ clients: subs.length, gaps, duplicates }).toEqual({ clients: CLIENTS, gaps: 0, duplicates: 0 });
  });
});
