/**
 * Entity expiry deadlines in the SQLite log: written in the append transaction with the message
 * that set them, so they survive a restart and the sweeper (telemetry, on the instance holding the
 * expiry lease) finds them in the store rather than in one process's memory.
 */
import type Database from 'better-sqlite3';
import type { DueExpiry } from './event-log';

export const EXPIRIES_SCHEMA = `
CREATE TABLE IF NOT EXISTS expiries (
  channel_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (channel_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS expiries_at ON expiries (at);
`;

export interface Expiries {
  /** The deadline of a key, if it has one. */
  get(channelId: number, key: string): number | undefined;
  set(channelId: number, key: string, at: number): void;
  clear(channelId: number, key: string): void;
  clearChannel(channelId: number): void;
  due(now: number, limit: number): DueExpiry[];
}

export function prepareExpiries(db: Database.Database): Expiries {
  const get = db.prepare('SELECT at FROM expiries WHERE channel_id = ? AND key = ?');
  const set = db.prepare(
    'INSERT INTO expiries (channel_id, key, at) VALUES (?, ?, ?) ON CONFLICT (channel_id, key) DO UPDATE SET at = excluded.at',
  );
  const clear = db.prepare('DELETE FROM expiries WHERE channel_id = ? AND key = ?');
  const clearChannel = db.prepare('DELETE FROM expiries WHERE channel_id = ?');
  const due = db.prepare(
    'SELECT c.name AS channel, e.key AS key, e.at AS at FROM expiries e JOIN channels c ON c.id = e.channel_id WHERE e.at <= ? ORDER BY e.at LIMIT ?',
  );
  return {
    get: (channelId, key) => (get.get(channelId, key) as { at: number } | undefined)?.at,
    set: (channelId, key, at) => void set.run(channelId, key, at),
    clear: (channelId, key) => void clear.run(channelId, key),
    clearChannel: (channelId) => void clearChannel.run(channelId),
    due: (now, limit) => due.all(now, limit) as DueExpiry[],
  };
}
