/**
 * Time → offset in the SQLite log without an index on ts. The log keeps each channel's ts
 * non-decreasing in offset order (sqlite-log.ts clamps a late ts to the channel's last one), so the
 * first offset at or after a time is found by a binary search over the primary key (channel_id,
 * offset): about 21 point reads for two million messages, a few microseconds.
 *
 * Why not an index: an index on (channel_id, ts) is one more B-tree page rewritten by every append
 * commit, a third of the bytes each commit wrote to the WAL; those bytes are what the checkpoint
 * worker copies and fsyncs, and every write to the WAL file is a chance for the event loop to stall
 * behind the file system's journal (docs/benchmarks.md, "Where the latency gap is"). Time ranges are
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
    let lo = first;
    let hi = last + 1;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      const row = atOrAfter.get(channelId, mid) as { offset: number; ts: number } | undefined;
      if (row === undefined || row.offset > last) {
        hi = mid;
      } else if (row.ts >= ts) {
        hi = mid; // the answer is at most row.offset, and nothing stored lies in [mid, row.offset)
      } else {
        lo = row.offset + 1;
      }
    }
    return lo;
  };
}
