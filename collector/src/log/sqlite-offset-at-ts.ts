/**
 * Time → offset in the SQLite log without an index on ts. The log keeps each channel's ts
 * non-decreasing in offset order (sqlite-log.ts clamps a late ts to the channel's last one), so the
 * first offset at or after a time is found by a search over the primary key (channel_id, offset):
 * galloping from the oldest message, then binary; at most about 42 point reads for two million
 * messages (tens of microseconds), one when the oldest message is already recent enough.
 *
 * Why not an index: an index on (channel_id, ts) is one more B-tree page rewritten by every append
 * commit, a third of the bytes each commit wrote to the WAL; those bytes are what the checkpoint
 * worker copies and fsyncs, and every write to the WAL file is a chance for the event loop to stall
 * behind the file system (docs/benchmarks.md, "The durable path (SQLite)"). Time ranges are
 * read rarely (history queries, retention by age); appends happen on every publish.
 */
import type Database from 'better-sqlite3';

export interface OffsetAtTs {
  /**
   * The first offset in [first, last] whose ts is >= `ts`, or last + 1 when there is none: every
   * stored offset below the answer has a smaller ts, every one from it up to `last` has ts >= `ts`.
   * `first`/`last` are the channel's stored range.
   */
  (channelId: number, first: number, last: number, ts: number): number;
}

export function prepareOffsetAtTs(db: Database.Database): OffsetAtTs {
  // "At or after" rather than "at": correct even if an offset in the range is missing.
  const atOrAfter = db.prepare('SELECT offset, ts FROM messages WHERE channel_id = ? AND offset >= ? ORDER BY offset LIMIT 1');
  return (channelId, first, last, ts) => {
    // Invariant: the answer lies in [lo, hi]; hi is a valid answer (every stored offset from hi on
    // has ts >= `ts`, or hi is last + 1).
    let lo = first;
    let hi = last + 1;
    /** Looks at the first stored offset >= probe; narrows [lo, hi]; true when it moved hi. */
    const look = (probe: number): boolean => {
      const row = atOrAfter.get(channelId, probe) as { offset: number; ts: number } | undefined;
      if (row === undefined || row.offset > last || row.ts >= ts) {
        hi = probe;
        return true;
      }
      lo = row.offset + 1;
      return false;
    };
    // Gallop from the oldest end first: retention by age asks for a cut a few messages in (and one
    // read when there is nothing to evict), so it costs O(log k) reads for k evicted, not O(log n).
    for (let step = 1; lo < hi; step *= 2) {
      if (look(Math.min(lo + step - 1, hi - 1))) {
        break;
      }
    }
    while (lo < hi) {
      look(lo + Math.floor((hi - lo) / 2));
    }
    return lo;
  };
}
