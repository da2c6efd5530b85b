/**
 * Publish ids in the SQLite log (docs/protocol.md, "Idempotent publishes"): a table beside the
 * messages, written in the append transaction, so a retried publish finds its id exactly when its
 * message was stored. An id is remembered while its offset is among the channel's newest `window`
 * offsets; older rows are deleted by the append that moves the window.
 */
import type Database from 'better-sqlite3';

export const PUBLISH_IDS_SCHEMA = `
CREATE TABLE IF NOT EXISTS publish_ids (
  channel_id INTEGER NOT NULL,
  id TEXT NOT NULL,
  offset INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (channel_id, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS publish_ids_offset ON publish_ids (channel_id, offset);
`;

export interface PublishIds {
  /** The original offset and ts of a stored id, if the window still holds it. */
  find(channelId: number, id: string): { offset: number; ts: number } | undefined;
  remember(channelId: number, id: string, offset: number, ts: number): void;
  /** Forgets ids that fell out of the window after an append that reached `lastOffset`. */
  trim(channelId: number, lastOffset: number): void;
  /** Forgets every id of a channel (a new epoch). */
  clear(channelId: number): void;
}

export function preparePublishIds(db: Database.Database, window: number): PublishIds {
  const find = db.prepare('SELECT offset, ts FROM publish_ids WHERE channel_id = ? AND id = ?');
  const insert = db.prepare('INSERT INTO publish_ids (channel_id, id, offset, ts) VALUES (?, ?, ?, ?)');
  const trim = db.prepare('DELETE FROM publish_ids WHERE channel_id = ? AND offset <= ?');
  const clear = db.prepare('DELETE FROM publish_ids WHERE channel_id = ?');
  return {
    find: (channelId, id) => find.get(channelId, id) as { offset: number; ts: number } | undefined,
    remember: (channelId, id, offset, ts) => void insert.run(channelId, id, offset, ts),
    trim: (channelId, lastOffset) => void trim.run(channelId, lastOffset - window),
    clear: (channelId) => void clear.run(channelId),
  };
}
