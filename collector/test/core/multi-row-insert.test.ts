/**
 * MultiRowInsert (log/multi-row-insert.ts): rows queued in any count come out of the table exactly
 * as queued, across statement boundaries; a discarded queue never reaches the next transaction.
 * Then the same through SqliteLog: batches of awkward sizes keep every message at its offset.
 * Unit tests on a real SQLite file (better-sqlite3), no mocks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MultiRowInsert } from '../../src/log/multi-row-insert';
import { SqliteLog } from '../../src/log/sqlite-log';

describe('MultiRowInsert', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-multirow-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('behavior: 1, 31, 32, 33 and 100 rows per transaction are all inserted, in order, with their values', () => {
    const db = new Database(join(dir, 't.db'));
    db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY, s TEXT, x INTEGER)');
    const ins = new MultiRowInsert(db, 't', ['n', 's', 'x']);
    let n = 0;
    for (const count of [1, 31, 32, 33, 100]) {
      db.transaction(() => {
        for (let i = 0; i < count; i++) {
          n++;
          ins.add(n, `row ${n}`, n % 3 === 0 ? null : n * 2);
        }
        ins.flush();
      })();
    }
    const rows = db.prepare('SELECT n, s, x FROM t ORDER BY n').all() as { n: number; s: string; x: number | null }[];
    expect(rows).toEqual(Array.from({ length: n }, (_, k) => ({ n: k + 1, s: `row ${k + 1}`, x: (k + 1) % 3 === 0 ? null : (k + 1) * 2 })));
    db.close();
  });

  test('behavior: after a failed transaction, discarded rows are not inserted by the next one', () => {
    const db = new Database(join(dir, 't.db'));
    db.exec('CREATE TABLE t (n INTEGER PRIMARY KEY)');
    const ins = new MultiRowInsert(db, 't', ['n']);
    expect(() =>
      db.transaction(() => {
        ins.add(1);
        ins.add(2);
        throw new Error('the caller fails before flush');
      })(),
    ).toThrow('the caller fails');
    ins.discard();
    db.transaction(() => {
      ins.add(3);
      ins.flush();
    })();
    expect(db.prepare('SELECT n FROM t').pluck().all()).toEqual([3]);
    db.close();
  });
});

describe('SqliteLog appends through MultiRowInsert', () => {
  test('behavior: batches of 1 to 70 messages on two channels get consecutive offsets and read back unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-multirow-'));
    const log = new SqliteLog({ path: join(dir, 'log.db') });
    try {
      await log.open();
      const sent: Record<string, string[]> = { 'm/a': [], 'm/b': [] };
      for (let size = 1; size <= 70; size += 3) {
        const batch = Array.from({ length: size }, (_, i) => {
          const channel = i % 2 === 0 ? 'm/a' : 'm/b';
          const data = JSON.stringify({ size, i, quote: '"\\' });
          sent[channel].push(data);
          return { channel, ts: Date.now(), data };
        });
        await log.append(batch);
      }
      for (const [channel, datas] of Object.entries(sent)) {
        const page = await log.read(channel, { after: 0, limit: 10_000 });
        expect(page.more).toBe(false);
        expect(page.messages.map((m) => m.offset)).toEqual(datas.map((_, k) => k + 1));
        expect(page.messages.map((m) => m.data)).toEqual(datas);
      }
    } finally {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
