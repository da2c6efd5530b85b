/**
 * A state or entity channel's snapshot, cut into `messages` frames of at most SNAPSHOT_FRAME_BYTES
 * of items each (one item larger than that travels alone). One frame per snapshot made a 40 MiB
 * frame out of 300k keys (issue 12); clients apply snapshot frames as upserts in offset order, so
 * several frames mean the same as one.
 */
import type { StoredMessage } from '../log/event-log';

export const SNAPSHOT_FRAME_BYTES = 1024 * 1024;

export function* snapshotFrames(messages: readonly StoredMessage[], maxBytes = SNAPSHOT_FRAME_BYTES): Generator<StoredMessage[]> {
  let part: StoredMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    if (part.length > 0 && bytes + m.item.length > maxBytes) {
      yield part;
      part = [];
      bytes = 0;
    }
    part.push(m);
    bytes += m.item.length + 1;
  }
  if (part.length > 0) {
    yield part;
  }
}
