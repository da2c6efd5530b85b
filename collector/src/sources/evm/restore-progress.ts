/**
 * Where a chain source left off: the last published blocks, read back from the event log, so a
 * restarted collector continues at the next block (backfilling what it missed) and still
 * recognises a reorg of blocks it published before the restart.
 *
 * The source context exposes the hub, not the log, so this reads through a short-lived in-process
 * subscriber (a Sink) with `since: {last: n}`; hub.subscribe resolves once the replay is written.
 */
import type { Hub } from '../../hub/hub';
import { nextSinkId, type Sink } from '../../hub/sink';
import type { TrackedBlock } from './reorg-tracker';

export async function readRecentBlocks(hub: Hub, channel: string, count: number): Promise<TrackedBlock[]> {
  const out: TrackedBlock[] = [];
  const sink: Sink = {
    id: nextSinkId(),
    // Counted under `sse` in streamgauge_messages_delivered_total: a few messages once per start.
    transport: 'sse',
    closed: false,
    maxQueueBytes: Number.MAX_SAFE_INTEGER,
    queuedBytes: () => 0,
    sendFrame: () => undefined,
    sendMessages(frame) {
      const f = JSON.parse(frame) as { messages: { data: { number: number; hash: string; parentHash: string; timestamp: number } }[] };
      for (const m of f.messages) {
        out.push({
          number: m.data.number,
          hash: m.data.hash,
          parentHash: m.data.parentHash,
          timestamp: Math.floor(m.data.timestamp / 1000),
        });
      }
      return true;
    },
  };
  try {
    await hub.subscribe(sink, channel, { last: count });
  } finally {
    hub.removeSink(sink);
  }
  return out;
}
