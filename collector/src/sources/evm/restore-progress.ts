/**
 * Where a chain source left off: the last published blocks, read back from the event log, so a
 * restarted collector continues at the next block (backfilling what it missed) and still
 * recognises a reorg of blocks it published before the restart.
 */
import type { SourceContext } from '../source';
import type { TrackedBlock } from './reorg-tracker';

export async function readRecentBlocks(read: SourceContext['read'], channel: string, count: number): Promise<TrackedBlock[]> {
  const { messages } = await read(channel, { limit: count, tail: true });
  return messages.map((m) => {
    const d = JSON.parse(m.data) as { number: number; hash: string; parentHash: string; timestamp: number };
    return { number: d.number, hash: d.hash, parentHash: d.parentHash, timestamp: Math.floor(d.timestamp / 1000) };
  });
}
