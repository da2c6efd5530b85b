/**
 * The event logs themselves (SQLite, and Redis on a real redis-server), through the EventLog
 * interface: publish ids answered with the original offset inside one append, expiry deadlines kept
 * with the message and listed when due, and an expiry delete that is appended only if the deadline
 * it was swept for is still the key's deadline (an upsert meanwhile makes it `stale`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppendItem, EventLog } from '../../src/log/event-log';
import { RedisLog } from '../../src/log/redis-log';
import { SqliteLog } from '../../src/log/sqlite-log';
import { createLogger } from '../../src/logger';
import { type RedisProcess, startRedis } from './redis-process';

jest.setTimeout(60_000);

const item = (o: Partial<AppendItem>): AppendItem => ({ channel: 'fleet/x', ts: 1_000, data: '{}', ...o });

function behaviours(name: string, open: () => Promise<EventLog>, close: () => Promise<void>): void {
  describe(name, () => {
    let log: EventLog;
    beforeAll(async () => {
      log = await open();
    });
    afterAll(async () => {
      await log?.close();
      await close();
    });

    test('behavior: a known id in a batch is answered with its original offset and not appended; new ids are', async () => {
      await log.ensureChannel('ids/a');
      const first = await log.append([item({ channel: 'ids/a', id: 'a', data: '{"n":1}' })]);
      expect(first.map((m) => [m.offset, m.unchanged])).toEqual([[1, undefined]]);
      const again = await log.append([
        item({ channel: 'ids/a', id: 'a', data: '{"n":1}' }),
        item({ channel: 'ids/a', id: 'b', data: '{"n":2}' }),
        item({ channel: 'ids/a', data: '{"n":3}' }),
        item({ channel: 'ids/a', id: 'b', data: '{"n":2}' }),
      ]);
      expect(again.map((m) => [m.offset, m.unchanged])).toEqual([
        [1, 'duplicate'],
        [2, undefined],
        [3, undefined],
        [2, 'duplicate'],
      ]);
      expect((await log.read('ids/a', { limit: 10 })).messages.map((m) => m.data)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    });

    test('behavior: expiry deadlines are kept with the message, listed when due, moved by an upsert and cleared by a delete; a delete for an old deadline is stale', async () => {
      await log.ensureChannel('fleet/x');
      await log.append([
        item({ key: 'k1', expiresAt: 5_000 }),
        item({ key: 'k2', expiresAt: 6_000 }),
        item({ key: 'k3', expiresAt: null }),
      ]);
      expect(await log.dueExpiries(4_999, 100)).toEqual([]);
      expect(await log.dueExpiries(5_500, 100)).toEqual([{ channel: 'fleet/x', key: 'k1', at: 5_000 }]);
      // k1 upserted again with a later deadline: the delete swept for 5000 must not remove it.
      await log.append([item({ key: 'k1', expiresAt: 9_000 })]);
      const stale = await log.append([item({ key: 'k1', deleted: true, expiresAt: null, ifExpiresAt: 5_000 })]);
      expect(stale[0].unchanged).toBe('stale');
      expect(await log.dueExpiries(7_000, 100)).toEqual([{ channel: 'fleet/x', key: 'k2', at: 6_000 }]);
      const done = await log.append([item({ key: 'k2', deleted: true, expiresAt: null, ifExpiresAt: 6_000 })]);
      expect(done[0].unchanged).toBeUndefined();
      // A second sweeper's delete for the same deadline: stale, nothing appended.
      expect((await log.append([item({ key: 'k2', deleted: true, expiresAt: null, ifExpiresAt: 6_000 })]))[0].unchanged).toBe('stale');
      expect(await log.dueExpiries(100_000, 100)).toEqual([{ channel: 'fleet/x', key: 'k1', at: 9_000 }]);
    });

    test('behavior: deadlines and ids survive closing and opening the store again (a restart)', async () => {
      await log.close();
      log = await open();
      expect(await log.dueExpiries(100_000, 100)).toEqual([{ channel: 'fleet/x', key: 'k1', at: 9_000 }]);
      expect((await log.append([item({ channel: 'ids/a', id: 'a', data: '{"n":1}' })]))[0]).toMatchObject({
        offset: 1,
        unchanged: 'duplicate',
      });
    });
  });
}

let dir = '';
behaviours(
  'SQLite log',
  async () => {
    dir ||= mkdtempSync(join(tmpdir(), 'sg-log-ids-'));
    const log = new SqliteLog({ path: join(dir, 'log.db') });
    await log.open();
    return log;
  },
  async () => rmSync(dir, { recursive: true, force: true }),
);

let redis: RedisProcess | undefined;
behaviours(
  'Redis log',
  async () => {
    redis ??= await startRedis();
    const log = new RedisLog({ urls: [redis.url], keyPrefix: 'sg:', logger: createLogger('warn') });
    await log.open();
    return log;
  },
  async () => {
    await redis?.cleanup();
  },
);
