/**
 * The embedded event log: one SQLite file in WAL mode. better-sqlite3 is synchronous, so an append
 * and the fan-out that follows happen in one turn of the event loop: nothing interleaves between
 * assigning an offset and a subscriber seeing it.
 *
 * Durability: synchronous=NORMAL in WAL mode survives a crash of the collector process; a power loss
 * can lose the last transactions (https://www.sqlite.org/pragma.html#pragma_synchronous). Set
 * store.path to `:memory:` to keep nothing.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  type AppendItem,
  type ChannelMeta,
  type EventLog,
  type Eviction,
  type ReadOptions,
  type ReadResult,
  type RetentionPolicy,
  type StoredMessage,
  storedMessage,
  newEpoch,
  type DueExpiry,
} from './event-log';
import { DEFAULTS } from '../config/defaults';
import { ErrorCode } from '@streamgauge/protocol';
import { sgError } from '../errors';
import { type PublishIds, PUBLISH_IDS_SCHEMA, preparePublishIds } from './sqlite-publish-ids';
import { EXPIRIES_SCHEMA, type Expiries, prepareExpiries } from './sqlite-expiries';
import { type WalCheckpointer, journalSizeLimit, startWalCheckpointer } from './wal-checkpointer';
import { MultiRowInsert } from './multi-row-insert';
import { type OffsetAtTs, prepareOffsetAtTs } from './sqlite-offset-at-ts';

/** A stored row's columns besides data, and its share of the B-tree pages, roughly (bytes). */
const ROW_OVERHEAD_BYTES = 64;

/**
 * What an append transaction stored, and about how many bytes it adds to the WAL (rows actually
 * inserted, with their other columns and index entries): that decides when the next checkpoint
 * pass is due (wal-checkpointer.ts).
 */
interface AppendedRows {
  out: StoredMessage[];
  bytes: number;
}

interface Row {
  offset: number;
  ts: number;
  key: string | null;
  deleted: number | null;
  data: string;
}

interface ChannelRow extends ChannelMeta {
  id: number;
  /** Live keys in `latest` (state and entity channels); copied and restored with the row when an append fails. */
  keys?: number;
}

const SCHEMA = `
-- last_offset is the channel's last offset as of its last eviction or epoch reset, not of every
-- append: at open the last offset is the larger of it and the newest stored message's. Writing it
-- on every append rewrote this table's page in every commit.
CREATE TABLE IF NOT EXISTS channels (
  id INTEGER PRIMARY KEY,
  name TEXT UNIQUE NOT NULL,
  epoch TEXT NOT NULL,
  last_offset INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
  channel_id INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  key TEXT,
  deleted INTEGER,
  data TEXT NOT NULL,
  PRIMARY KEY (channel_id, offset)
) WITHOUT ROWID;
-- No index on ts: time ranges are found by offset (sqlite-offset-at-ts.ts). Databases written
-- before had one; it is dropped at open so that appends stop paying for it.
DROP INDEX IF EXISTS messages_ts;
CREATE TABLE IF NOT EXISTS latest (
  channel_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  offset INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (channel_id, key)
) WITHOUT ROWID;
`;

export interface SqliteLogOptions {
  path: string;
  /** Publish ids are remembered for this many newest offsets per channel (store.publishIdWindow). */
  publishIdWindow?: number;
  /** WAL checkpoint worker settings (wal-checkpointer.ts); tests lower the bound. */
  checkpoint?: { intervalMs?: number; passBytes?: number; tickMs?: number; rewindFrames?: number; maxWalBytes?: number };
  /** Live keys per state/entity channel at most (channels.maxKeysPerChannel); an append adding one more fails whole with SG_KEY_LIMIT. */
  maxKeysPerChannel?: number;
}

export class SqliteLog implements EventLog {
  private db!: Database.Database;
  private readonly channels = new Map<string, ChannelRow>();
  private readonly path: string;
  private readonly maxKeys: number;
  private stmts!: ReturnType<SqliteLog['prepare']>;
  private appendTx!: (items: AppendItem[]) => AppendedRows;
  private ids!: PublishIds;
  private expiries!: Expiries;
  private offsetAtTs!: OffsetAtTs;
  private readonly checkpointOptions: SqliteLogOptions['checkpoint'];
  private checkpointer: WalCheckpointer | undefined;

  constructor(private readonly options: SqliteLogOptions) {
    this.path = options.path;
    this.maxKeys = options.maxKeysPerChannel ?? Number.POSITIVE_INFINITY;
    this.checkpointOptions = options.checkpoint;
  }

  async open(): Promise<ChannelMeta[]> {
    if (this.path !== ':memory:') {
      mkdirSync(dirname(this.path), { recursive: true });
    }
    this.db = new Database(this.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    if (this.path !== ':memory:') {
      // The checkpoint runs in a worker thread, not inside a publish (wal-checkpointer.ts).
      this.db.pragma('wal_autocheckpoint = 0');
      this.db.pragma(`journal_size_limit = ${journalSizeLimit(this.checkpointOptions?.maxWalBytes)}`);
      this.checkpointer = startWalCheckpointer({
        path: this.path,
        ...this.checkpointOptions,
        onFailure: () => {
          if (this.db.open) {
            this.db.pragma('wal_autocheckpoint = 1000');
          }
        },
      });
      await this.checkpointer.ready;
    }
    this.db.exec(SCHEMA);
    this.db.exec(PUBLISH_IDS_SCHEMA + EXPIRIES_SCHEMA);
    this.stmts = this.prepare();
    this.ids = preparePublishIds(this.db, this.options.publishIdWindow ?? DEFAULTS.store.publishIdWindow);
    this.expiries = prepareExpiries(this.db);
    this.offsetAtTs = prepareOffsetAtTs(this.db);
    this.appendTx = this.db.transaction((items: AppendItem[]) => this.appendInTx(items));

    const stats = new Map<number, { count: number; first: number | null; last: number; lastTs: number | null }>();
    for (const r of this.db
      .prepare(
        'SELECT channel_id AS id, count(*) AS count, min(offset) AS first, max(offset) AS last, max(ts) AS lastTs FROM messages GROUP BY channel_id',
      )
      .all() as { id: number; count: number; first: number; last: number; lastTs: number }[]) {
      stats.set(r.id, r);
    }
    for (const r of this.db.prepare('SELECT id, name, epoch, last_offset AS lastOffset FROM channels').all() as {
      id: number;
      name: string;
      epoch: string;
      lastOffset: number;
    }[]) {
      const s = stats.get(r.id);
      // The row's last_offset only moves at evictions and resets (see SCHEMA); appends since are in messages.
      const lastOffset = Math.max(r.lastOffset, s?.last ?? 0);
      this.channels.set(r.name, {
        id: r.id,
        name: r.name,
        epoch: r.epoch,
        lastOffset,
        firstOffset: s?.first ?? lastOffset + 1,
        count: s?.count ?? 0,
        lastTs: s?.lastTs ?? null,
      });
    }
    const byId = new Map([...this.channels.values()].map((c) => [c.id, c]));
    for (const r of this.db.prepare('SELECT channel_id AS id, count(*) AS n FROM latest GROUP BY channel_id').all() as {
      id: number;
      n: number;
    }[]) {
      const c = byId.get(r.id);
      if (c) {
        c.keys = r.n;
      }
    }
    return [...this.channels.values()].map(publicMeta);
  }

  private prepare() {
    const db = this.db;
    return {
      insertChannel: db.prepare('INSERT INTO channels (name, epoch, last_offset, created_at) VALUES (?, ?, 0, ?)'),
      setLastOffset: db.prepare('UPDATE channels SET last_offset = ? WHERE id = ?'),
      insert: new MultiRowInsert(db, 'messages', ['channel_id', 'offset', 'ts', 'key', 'deleted', 'data']),
      upsertLatest: db.prepare(
        'INSERT INTO latest (channel_id, key, offset, ts, data) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT (channel_id, key) DO UPDATE SET offset = excluded.offset, ts = excluded.ts, data = excluded.data',
      ),
      deleteLatest: db.prepare('DELETE FROM latest WHERE channel_id = ? AND key = ?'),
      hasLatest: db.prepare('SELECT 1 AS x FROM latest WHERE channel_id = ? AND key = ?'),
      latestNewest: db.prepare(
        'SELECT offset, ts, key, NULL AS deleted, data FROM latest WHERE channel_id = ? ORDER BY offset DESC LIMIT ?',
      ),
      readAsc: db.prepare(
        'SELECT offset, ts, key, deleted, data FROM messages WHERE channel_id = ? AND offset > ? AND offset <= ? ORDER BY offset ASC LIMIT ?',
      ),
      readDesc: db.prepare(
        'SELECT offset, ts, key, deleted, data FROM messages WHERE channel_id = ? AND offset > ? AND offset <= ? ORDER BY offset DESC LIMIT ?',
      ),
      latest: db.prepare('SELECT offset, ts, key, NULL AS deleted, data FROM latest WHERE channel_id = ? ORDER BY offset ASC'),
      evictBelow: db.prepare('DELETE FROM messages WHERE channel_id = ? AND offset < ?'),
      firstOffset: db.prepare('SELECT min(offset) AS o FROM messages WHERE channel_id = ?'),
    };
  }

  async ensureChannel(name: string, maxChannels?: number): Promise<ChannelMeta> {
    return publicMeta(this.ensureSync(name, maxChannels));
  }

  private ensureSync(name: string, maxChannels?: number): ChannelRow {
    let c = this.channels.get(name);
    if (!c) {
      // Synchronous from check to insert: concurrent publishes cannot both pass the limit.
      if (maxChannels !== undefined && this.channels.size >= maxChannels) {
        throw sgError(ErrorCode.ChannelLimit, `creating ${name} would exceed channels.maxChannels (${maxChannels})`);
      }
      const epoch = newEpoch();
      const info = this.stmts.insertChannel.run(name, epoch, Date.now());
      c = { id: Number(info.lastInsertRowid), name, epoch, firstOffset: 1, lastOffset: 0, count: 0, lastTs: null };
      this.channels.set(name, c);
    }
    return c;
  }

  meta(channel: string): ChannelMeta | undefined {
    const c = this.channels.get(channel);
    return c && publicMeta(c);
  }

  async append(items: AppendItem[]): Promise<StoredMessage[]> {
    // Offsets are bumped in memory inside the transaction; undo them if it throws.
    const before = new Map<string, ChannelRow>();
    for (const it of items) {
      const c = this.channels.get(it.channel);
      if (c && !before.has(it.channel)) {
        before.set(it.channel, { ...c });
      }
    }
    try {
      this.checkpointer?.beforeWrite();
      const { out, bytes } = this.appendTx(items);
      // After the commit, so that the checkpoint worker, woken by it, sees the commit.
      this.checkpointer?.afterWrite(bytes);
      return out;
    } catch (err) {
      for (const [name, saved] of before) {
        this.channels.set(name, saved);
      }
      throw err;
    }
  }

  private appendInTx(items: AppendItem[]): AppendedRows {
    try {
      return this.appendRows(items);
    } catch (err) {
      this.stmts.insert.discard(); // rows queued before the failure belong to the rolled-back transaction
      throw err;
    }
  }

  private appendRows(items: AppendItem[]): AppendedRows {
    const out: StoredMessage[] = new Array(items.length);
    const withIds = new Set<ChannelRow>();
    let bytes = 0;
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      const c = this.ensureSync(it.channel);
      const unchanged = this.unchanged(c, it);
      if (unchanged) {
        out[i] = unchanged;
        continue;
      }
      const offset = ++c.lastOffset;
      const ts = c.lastTs !== null && it.ts < c.lastTs ? c.lastTs : it.ts; // keep ts non-decreasing per channel
      c.lastTs = ts;
      c.count++;
      this.stmts.insert.add(c.id, offset, ts, it.key ?? null, it.deleted ? 1 : null, it.data);
      bytes += it.data.length + ROW_OVERHEAD_BYTES;
      if (it.key !== undefined) {
        this.countKey(c, it.key, !it.deleted);
        if (it.deleted) {
          this.stmts.deleteLatest.run(c.id, it.key);
        } else {
          this.stmts.upsertLatest.run(c.id, it.key, offset, ts, it.data);
        }
      }
      out[i] = storedMessage(it.channel, offset, ts, it.data, it.key, it.deleted);
      if (this.keepIdAndExpiry(c, it, offset, ts)) {
        withIds.add(c);
      }
    }
    this.stmts.insert.flush();
    for (const c of withIds) {
      this.ids.trim(c.id, c.lastOffset);
    }
    return { out, bytes };
  }

  /** A retried publish id (the original message) or a stale expiry: nothing to append. */
  private unchanged(c: ChannelRow, it: AppendItem): StoredMessage | undefined {
    if (it.id !== undefined) {
      const found = this.ids.find(c.id, it.id);
      if (found) {
        return { ...storedMessage(it.channel, found.offset, found.ts, it.data, it.key, it.deleted), unchanged: 'duplicate' };
      }
    }
    if (it.ifExpiresAt !== undefined && this.expiries.get(c.id, it.key ?? '') !== it.ifExpiresAt) {
      return { ...storedMessage(it.channel, 0, it.ts, it.data, it.key, it.deleted), unchanged: 'stale' };
    }
    return undefined;
  }

  /** Returns true when the message carried a publish id. */
  private keepIdAndExpiry(c: ChannelRow, it: AppendItem, offset: number, ts: number): boolean {
    if (it.key !== undefined && it.expiresAt !== undefined) {
      if (it.expiresAt === null) {
        this.expiries.clear(c.id, it.key);
      } else {
        this.expiries.set(c.id, it.key, it.expiresAt);
      }
    }
    if (it.id !== undefined) {
      this.ids.remember(c.id, it.id, offset, ts);
      return true;
    }
    return false;
  }

  async dueExpiries(now: number, limit: number): Promise<DueExpiry[]> {
    return this.expiries.due(now, limit);
  }

  async read(channel: string, o: ReadOptions): Promise<ReadResult> {
    const c = this.channels.get(channel);
    if (!c) {
      return { messages: [], more: false };
    }
    // A time range becomes an offset range (ts is non-decreasing per channel: sqlite-offset-at-ts.ts).
    let after = o.after ?? 0;
    let upTo = c.lastOffset;
    if (c.count > 0 && o.from !== undefined) {
      after = Math.max(after, this.offsetAtTs(c.id, c.firstOffset, c.lastOffset, o.from) - 1);
    }
    if (c.count > 0 && o.to !== undefined && o.to < Number.MAX_SAFE_INTEGER) {
      // ts are whole ms: the last offset with ts <= to is just below the first with ts >= floor(to) + 1.
      upTo = this.offsetAtTs(c.id, c.firstOffset, c.lastOffset, Math.floor(o.to) + 1) - 1;
    }
    const stmt = o.tail ? this.stmts.readDesc : this.stmts.readAsc;
    const rows = stmt.all(c.id, after, upTo, o.limit + 1) as Row[];
    const more = rows.length > o.limit;
    if (more) {
      rows.length = o.limit;
    }
    if (o.tail) {
      rows.reverse();
    }
    return { messages: rows.map((r) => toStored(channel, r)), more };
  }

  async resetEpoch(channel: string): Promise<ChannelMeta> {
    const c = this.ensureSync(channel);
    const epoch = newEpoch();
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM messages WHERE channel_id = ?').run(c.id);
      this.db.prepare('DELETE FROM latest WHERE channel_id = ?').run(c.id);
      this.db.prepare('UPDATE channels SET epoch = ?, last_offset = 0 WHERE id = ?').run(epoch, c.id);
      // Ids and deadlines belong to the old history: a retry of an old id is a new message now.
      this.ids.clear(c.id);
      this.expiries.clearChannel(c.id);
    })();
    Object.assign(c, { epoch, firstOffset: 1, lastOffset: 0, count: 0, lastTs: null, keys: 0 });
    return publicMeta(c);
  }

  async latestByKey(channel: string, limit?: number): Promise<StoredMessage[]> {
    const c = this.channels.get(channel);
    if (!c) {
      return [];
    }
    // Paged in the store: a snapshot of the newest keys never loads every key of a large channel.
    const rows =
      limit === undefined ? (this.stmts.latest.all(c.id) as Row[]) : (this.stmts.latestNewest.all(c.id, limit) as Row[]).reverse();
    return rows.map((r) => toStored(channel, r));
  }

  /** Keeps `c.keys` current; refuses a new key past maxKeysPerChannel (inside the append transaction, so nothing is stored). */
  private countKey(c: ChannelRow, key: string, live: boolean): void {
    const had = this.stmts.hasLatest.get(c.id, key) !== undefined;
    if (live && !had) {
      if ((c.keys ?? 0) >= this.maxKeys) {
        throw sgError(
          ErrorCode.KeyLimit,
          `${c.name} holds ${this.maxKeys} live keys (channels.maxKeysPerChannel): update or delete existing keys`,
        );
      }
      c.keys = (c.keys ?? 0) + 1;
    } else if (!live && had) {
      c.keys = (c.keys ?? 1) - 1;
    }
  }

  async enforceRetention(policyFor: (channel: string) => RetentionPolicy, now: number): Promise<Eviction[]> {
    const evictions: Eviction[] = [];
    const run = this.db.transaction(() => {
      for (const c of this.channels.values()) {
        if (c.count === 0) {
          continue;
        }
        const p = policyFor(c.name);
        let cutoff = c.lastOffset - p.maxMessages + 1;
        cutoff = Math.max(cutoff, this.offsetAtTs(c.id, c.firstOffset, c.lastOffset, now - p.maxAgeSeconds * 1000));
        if (cutoff <= c.firstOffset) {
          continue;
        }
        // The row's last_offset must survive the messages that carried it (SCHEMA): age can evict them all.
        this.stmts.setLastOffset.run(c.lastOffset, c.id);
        const n = this.stmts.evictBelow.run(c.id, cutoff).changes;
        if (n > 0) {
          c.count -= n;
          const first = (this.stmts.firstOffset.get(c.id) as { o: number | null }).o;
          c.firstOffset = first ?? c.lastOffset + 1;
          evictions.push({ channel: c.name, evicted: n });
        }
      }
    });
    run();
    return evictions;
  }

  sizeBytes(): number | null {
    if (this.path === ':memory:') {
      return null;
    }
    let total = 0;
    for (const suffix of ['', '-wal']) {
      try {
        total += statSync(this.path + suffix).size;
      } catch {
        // the WAL file comes and goes with checkpoints
      }
    }
    return total;
  }

  healthy(): boolean {
    return this.db?.open === true;
  }

  /** The checkpoint worker's counters (null for `:memory:`). */
  walStats(): ReturnType<WalCheckpointer['stats']> | null {
    return this.checkpointer?.stats() ?? null;
  }

  async close(): Promise<void> {
    await this.checkpointer?.stop();
    if (this.db?.open) {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }
}

function publicMeta(c: ChannelRow): ChannelMeta {
  return {
    name: c.name,
    epoch: c.epoch,
    firstOffset: c.count === 0 ? c.lastOffset + 1 : c.firstOffset,
    lastOffset: c.lastOffset,
    count: c.count,
    lastTs: c.lastTs,
  };
}

function toStored(channel: string, r: Row): StoredMessage {
  const key = r.key ?? undefined;
  const deleted = r.deleted ? true : undefined;
  return storedMessage(channel, r.offset, r.ts, r.data, key, deleted);
}
