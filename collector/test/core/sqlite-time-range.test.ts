/**
 * The SQLite log without an index on ts and without a per-append write of the channel row
 * (log/sqlite-offset-at-ts.ts, log/sqlite-log.ts SCHEMA): time ranges read by binary search over
 * offsets give exactly what a scan of every message would, retention by age evicts the same
 * messages, and the last offset survives a reopen whether the messages carrying it are still there
 * or were all evicted. Unit tests on a real SQLite file, no mocks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { StoredMessage } from '../../src/log/event-log';
import { SqliteLog } from '../../src/log/sqlite-log';
import { prepareOffsetAtTs } from '../../src/log/sqlite-offset-at-ts';

const CH = 'tr/a';
const keep = { maxMessages: 1_000_000, maxAgeSeconds: 86_400 * 365 };

/** A small deterministic generator, so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('SQLite log: time ranges by offset, last offset without a per-append channel write', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-timerange-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('behavior: from/to reads (oldest and newest first) equal a scan of every message, across runs of equal ts and late ts', async () => {
    const log = new SqliteLog({ path: join(dir, 'a.db') });
    await log.open();
    const rand = rng(7);
    let ts = 1_000_000;
    // Runs of equal ts, jumps, and late timestamps (clamped by the log to the channel's last ts).
    for (let b = 0; b < 60; b++) {
      const items = Array.from({ length: 1 + Math.floor(rand() * 9) }, (_, i) => {
        const r = rand();
        ts += r < 0.4 ? 0 : r < 0.8 ? Math.floor(rand() * 5) : Math.floor(rand() * 500);
        const late = rand() < 0.1 ? ts - 300 : ts;
        return { channel: CH, ts: late, data: JSON.stringify({ b, i }) };
      });
      await log.append(items);
    }
    const all = (await log.read(CH, { limit: 10_000 })).messages;
    expect(all.length).toBeGreaterThan(200);
    for (let k = 1; k < all.length; k++) expect(all[k].ts).toBeGreaterThanOrEqual(all[k - 1].ts);
    const lo = all[0].ts - 10;
    const hi = all[all.length - 1].ts + 10;
    // Sometimes half a ms below a stored ts: an API caller may pass a fraction, and the bound
    // must still fall between the two whole ms around it.
    const pick = (): number => (rand() < 0.25 ? all[Math.floor(rand() * all.length)].ts - 0.5 : lo + Math.floor(rand() * (hi - lo)));
    const offsets = (ms: StoredMessage[]): number[] => ms.map((m) => m.offset);
    for (let q = 0; q < 200; q++) {
      const from = rand() < 0.2 ? undefined : pick();
      const to = rand() < 0.2 ? undefined : pick();
      const after = rand() < 0.3 ? Math.floor(rand() * all.length) : undefined;
      const limit = 1 + Math.floor(rand() * 40);
      const match = all.filter(
        (m) => (after === undefined || m.offset > after) && (from === undefined || m.ts >= from) && (to === undefined || m.ts <= to),
      );
      const asc = await log.read(CH, { from, to, after, limit });
      expect({ q, from, to, after, limit, got: offsets(asc.messages), more: asc.more }).toEqual({
        q,
        from,
        to,
        after,
        limit,
        got: offsets(match.slice(0, limit)),
        more: match.length > limit,
      });
      const tail = await log.read(CH, { from, to, after, limit, tail: true });
      expect({ q, got: offsets(tail.messages), more: tail.more }).toEqual({
        q,
        got: offsets(match.slice(Math.max(0, match.length - limit))),
        more: match.length > limit,
      });
    }
    await log.close();
  });

  test('behavior: retention by age evicts exactly the messages older than the bound', async () => {
    const log = new SqliteLog({ path: join(dir, 'b.db') });
    await log.open();
    const now = 10_000_000;
    // ts from now-100 s to now, one a second, three messages per second.
    for (let s = 100; s >= 0; s--) {
      await log.append([0, 1, 2].map((i) => ({ channel: CH, ts: now - s * 1000, data: String(i) })));
    }
    const ev = await log.enforceRetention(() => ({ maxMessages: 1_000_000, maxAgeSeconds: 30 }), now);
    expect(ev).toEqual([{ channel: CH, evicted: 70 * 3 }]);
    const left = (await log.read(CH, { limit: 1_000 })).messages;
    expect(left[0].ts).toBe(now - 30_000);
    expect(left).toHaveLength(31 * 3);
    expect(log.meta(CH)).toMatchObject({ firstOffset: 70 * 3 + 1, lastOffset: 101 * 3, count: 31 * 3 });
    await log.close();
  });

  test('behavior: the last offset survives a reopen, with its messages kept (no close) or all evicted by age (after close)', async () => {
    const path = join(dir, 'c.db');
    const a = new SqliteLog({ path });
    await a.open();
    for (let i = 0; i < 5; i++) await a.append([{ channel: CH, ts: 1_000 + i, data: String(i) }]);
    // A second connection sees what a restart after a crash would: the commits, no close.
    const b = new SqliteLog({ path });
    expect((await b.open()).find((c) => c.name === CH)).toMatchObject({ lastOffset: 5, firstOffset: 1, count: 5 });
    await b.close();
    // Everything is older than the bound: the channel row must keep the last offset the evicted messages carried.
    expect(await a.enforceRetention(() => ({ ...keep, maxAgeSeconds: 1 }), 1_000_000)).toEqual([{ channel: CH, evicted: 5 }]);
    await a.close();
    const c = new SqliteLog({ path });
    expect((await c.open()).find((m) => m.name === CH)).toMatchObject({ lastOffset: 5, firstOffset: 6, count: 0 });
    const [next] = await c.append([{ channel: CH, ts: 2_000_000, data: '"next"' }]);
    expect(next.offset).toBe(6);
    await c.close();
  });

  test('behavior: a database written with the old ts index opens without it, and its time ranges still read', async () => {
    const path = join(dir, 'd.db');
    const a = new SqliteLog({ path });
    await a.open();
    for (let i = 0; i < 20; i++) await a.append([{ channel: CH, ts: 5_000 + i * 10, data: String(i) }]);
    await a.close();
    const db = new Database(path);
    db.exec('CREATE INDEX messages_ts ON messages (channel_id, ts)');
    db.close();
    const b = new SqliteLog({ path });
    await b.open();
    await b.close();
    const check = new Database(path, { readonly: true });
    const idx = check.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'messages_ts'").all();
    check.close();
    expect(idx).toEqual([]);
    const c = new SqliteLog({ path });
    await c.open();
    const r = await c.read(CH, { from: 5_050, to: 5_100, limit: 100 });
    expect(r.messages.map((m) => m.ts)).toEqual([5_050, 5_060, 5_070, 5_080, 5_090, 5_100]);
    await c.close();
  });
});

describe('prepareOffsetAtTs: answers and reads', () => {
  let dir: string;
  let db: Database.Database;
  let reads = 0;
  const N = 100_000;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-offsetts-'));
    db = new Database(join(dir, 'o.db'));
    db.exec('CREATE TABLE messages (channel_id INTEGER, offset INTEGER, ts INTEGER, PRIMARY KEY (channel_id, offset)) WITHOUT ROWID');
    const ins = db.prepare('INSERT INTO messages VALUES (1, ?, ?)');
    // offset o has ts 10 * floor(o / 3): runs of three equal timestamps.
    db.transaction(() => {
      for (let o = 1; o <= N; o++) ins.run(o, 10 * Math.floor(o / 3));
    })();
    // Count the point reads the search makes (the one statement it prepares).
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      const stmt = prepare(sql);
      const get = stmt.get.bind(stmt);
      stmt.get = ((...args: unknown[]) => {
        reads++;
        return get(...args);
      }) as typeof stmt.get;
      return stmt;
    }) as typeof db.prepare;
  });
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('behavior: the first offset at or after a time, with O(log k) reads for a cut k messages in', () => {
    const at = prepareOffsetAtTs(db);
    const expected = (ts: number): number => {
      for (let o = 1; o <= N; o++) if (10 * Math.floor(o / 3) >= ts) return o;
      return N + 1;
    };
    for (const ts of [-5, 0, 1, 10, 11, 29, 30, 31, 1_000, 33_333, 333_330, 333_331, 10 ** 9]) {
      reads = 0;
      const got = at(1, 1, N, ts);
      expect({ ts, got }).toEqual({ ts, got: expected(ts) });
      // Galloping then bisecting: about 2 log2(k) + 2 reads for an answer k messages in.
      const k = Math.max(1, got - 1);
      expect({ ts, reads: reads <= 2 * Math.ceil(Math.log2(k + 1)) + 3 }).toEqual({ ts, reads: true });
    }
    reads = 0;
    expect(at(1, 1, N, -1)).toBe(1);
    expect(reads).toBe(1); // nothing to evict by age: one read
    // A sub-range (a channel whose oldest messages were evicted) and an empty channel id.
    expect(at(1, 50_000, N, 0)).toBe(50_000);
    expect(at(2, 1, 0, 5)).toBe(1);
  });
});
