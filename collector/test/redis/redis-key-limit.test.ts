/**
 * channels.maxKeysPerChannel on the Redis store (two instances on one redis-server): the bound is
 * checked inside the append script, before anything is written, so a refused batch stores nothing
 * and instances cannot pass the bound together; deleting keys makes room again.
 */
import { ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish } from '../helpers/collector-process';
import { startInstances } from './multi-instance';
import { type RedisProcess, startRedis } from './redis-process';

const rows = (channel: string, ids: string[]) => ({ messages: ids.map((id) => ({ channel, data: { id } })) });

describe('keys per state/entity channel on Redis', () => {
  let redis: RedisProcess;
  const sg: CollectorProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    await startInstances(
      2,
      redis.url,
      {
        channels: {
          maxKeysPerChannel: 5,
          definitions: [
            { name: 'app/state', kind: 'state', keyField: 'id' },
            { name: 'app/ent', kind: 'entity', keyField: 'id' },
          ],
        },
      },
      sg,
    );
  });

  afterAll(async () => {
    for (const p of sg) {
      await p.stop('SIGKILL');
      p.cleanup();
    }
    await redis?.cleanup();
  });

  test('behavior: a batch adding keys past the bound is refused whole with 409 SG_KEY_LIMIT, on either instance', async () => {
    expect((await publish(sg[0].url, rows('app/state', ['a', 'b', 'c', 'd']))).status).toBe(200);
    const over = await publish(sg[1].url, rows('app/state', ['a', 'e', 'f']));
    expect([over.status, over.body.error.code]).toEqual([409, ErrorCode.KeyLimit]);
    expect(over.body.error.message).toBe('app/state holds 5 live keys (channels.maxKeysPerChannel): update or delete existing keys');
    const h = await (await fetch(`${sg[0].url}/api/v1/messages?channel=app/state`)).json();
    expect(h.lastOffset).toBe(4);
    // Updates of existing keys and one new key up to the bound still work.
    expect((await publish(sg[1].url, rows('app/state', ['a', 'b', 'e']))).status).toBe(200);
  });

  test('behavior: deleting entity keys makes room for new ones', async () => {
    expect((await publish(sg[0].url, rows('app/ent', ['1', '2', '3', '4', '5']))).status).toBe(200);
    expect((await publish(sg[1].url, rows('app/ent', ['6']))).body.error.code).toBe(ErrorCode.KeyLimit);
    expect((await publish(sg[1].url, { channel: 'app/ent', data: { id: '1' }, delete: true })).status).toBe(200);
    expect((await publish(sg[0].url, rows('app/ent', ['6']))).status).toBe(200);
  });
});
