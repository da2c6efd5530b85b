/**
 * History for a query: the newest `limit` messages of the time range, and when the range holds none,
 * the last message before it (a slow-changing value is shown at once, not after its next change).
 * Returns the position to resume live delivery from, so history and live meet with no gap.
 */
import type { MessageItem, Position } from '@streamgauge/protocol';
import type { CollectorApi } from '../api/collector-api';

export interface HistoryOptions {
  from?: number;
  /** Absent for live queries: up to now. */
  to?: number;
  limit: number;
  /** Fetch the last message before `from` when the range is empty. Default true. */
  lastValue?: boolean;
}

export interface History {
  epoch: string;
  messages: MessageItem[];
  /** Live delivery continues after this. */
  position: Position;
}

export async function loadHistory(api: CollectorApi, channel: string, o: HistoryOptions): Promise<History> {
  const r = await api.messages({ channel, from: o.from, to: o.to, limit: o.limit, tail: true });
  let messages = r.messages;
  let epoch = r.epoch;
  if (!messages.length && o.lastValue !== false && o.from !== undefined) {
    const before = await api.messages({ channel, to: o.from, limit: 1, tail: true });
    messages = before.messages;
    epoch = before.epoch;
  }
  // The last row read is the exact seam; the channel's lastOffset may already be past what we read.
  const lastRead = messages.length ? messages[messages.length - 1].offset : undefined;
  const offset = o.to === undefined ? (lastRead ?? r.lastOffset) : r.lastOffset;
  return { epoch, messages, position: { epoch, offset } };
}
