/**
 * The cursor engine: each cursor replays a channel from the log, then goes live, with no seam. A
 * cursor switches to live only when its position has reached the channel's last offset, checked
 * synchronously, and live delivery (fan-out.ts) only ever sends offsets above the position: so there
 * is no gap and no duplicate at the seam, whatever the publishers do meanwhile.
 *
 * Sessions drive it: they open and close cursors; the engine never decides what a subscription is.
 */
import { type ChannelKind, type Since, type SubscribedFrame, channelNamespace } from '@streamgauge/protocol';
import type { Channel } from '../channels/channel-registry';
import type { EventLog, StoredMessage } from '../log/event-log';
import { Cursor, type CursorTarget } from './cursor';
import { snapshotFrames } from '../limits/snapshot-frames';
import { messagesFrame } from './messages-frame';

export interface CursorEngineOptions {
  log: EventLog;
  replayPageSize: number;
  /** Counts delivered messages (metrics). */
  delivered(namespace: string, transport: string, n: number): void;
}

export class CursorEngine {
  private readonly byChannel = new Map<string, Set<Cursor>>();
  private open = 0;

  constructor(private readonly o: CursorEngineOptions) {}

  /** Cursors open now (streamgauge_subscriptions). */
  get size(): number {
    return this.open;
  }

  cursorsOf(channel: string): Set<Cursor> | undefined {
    return this.byChannel.get(channel);
  }

  /**
   * Opens a cursor for a target, registered at once so that no message published meanwhile is
   * missed; start() then positions it. A closed target gets a closed cursor.
   */
  openCursor(target: CursorTarget, channel: string, id: number | string | undefined, pattern: string | undefined): Cursor {
    const cursor = new Cursor(target, channel, id, pattern);
    if (target.closed) {
      cursor.closed = true;
    } else {
      this.register(cursor);
    }
    return cursor;
  }

  /**
   * Sends `subscribed` (with where delivery starts), the snapshot of a state or entity channel,
   * then the replay; live delivery follows. On failure, or when the target closed meanwhile, the
   * cursor is closed (so nothing stays registered for a gone client).
   */
  async start(cursor: Cursor, c: Channel, since: Since | undefined, refresh?: (name: string) => Promise<void>): Promise<void> {
    try {
      if (since && 'epoch' in since && (since.epoch !== c.epoch || since.offset > c.lastOffset) && refresh) {
        // A client resuming here may have seen, on another instance, offsets or an epoch this
        // instance has not heard of yet (Redis): ask the store before calling the position lost.
        await refresh(c.name);
      }
      if (!cursor.closed) {
        await this.position(cursor, c, since);
      }
    } catch (err) {
      this.closeCursor(cursor);
      throw err;
    }
    if (cursor.target.closed) {
      this.closeCursor(cursor);
    }
  }

  closeCursor(cursor: Cursor): void {
    if (cursor.closed) {
      return;
    }
    cursor.closed = true;
    const set = this.byChannel.get(cursor.channel);
    if (set?.delete(cursor)) {
      this.open--;
      if (set.size === 0) {
        this.byChannel.delete(cursor.channel);
      }
    }
  }

  private register(cursor: Cursor): void {
    let set = this.byChannel.get(cursor.channel);
    if (!set) {
      this.byChannel.set(cursor.channel, (set = new Set()));
    }
    set.add(cursor);
    this.open++;
  }

  private async position(cursor: Cursor, c: Channel, since: Since | undefined): Promise<void> {
    const first = c.count === 0 ? c.lastOffset + 1 : c.firstOffset;
    let recovered = true;
    let reason: SubscribedFrame['reason'];
    let snapshot: StoredMessage[] | undefined;
    cursor.epoch = c.epoch;
    if (since === undefined) {
      cursor.position = c.lastOffset;
      if (c.kind !== 'stream') {
        const upTo = c.lastOffset;
        snapshot = (await this.o.log.latestByKey(c.name)).filter((s) => s.offset <= upTo);
      }
    } else if ('last' in since) {
      cursor.position = Math.max(first - 1, c.lastOffset - Math.max(0, Math.floor(since.last)));
    } else if ('time' in since) {
      const r = await this.o.log.read(c.name, { from: since.time, limit: 1 });
      cursor.position = r.messages.length ? r.messages[0].offset - 1 : c.lastOffset;
      if (first > 1 && r.messages.length && r.messages[0].offset === first) {
        // The oldest message kept is already past the requested time, and older ones were evicted.
        const before = await this.o.log.read(c.name, { to: since.time, limit: 1, tail: true });
        if (before.messages.length === 0) {
          recovered = false;
          reason = 'expired';
        }
      }
    } else if (since.epoch !== c.epoch) {
      recovered = false;
      reason = 'epoch_changed';
      cursor.position = first - 1;
    } else if (since.offset > c.lastOffset) {
      recovered = false;
      reason = 'ahead';
      cursor.position = first - 1;
    } else if (since.offset < first - 1) {
      recovered = false;
      reason = 'expired';
      cursor.position = first - 1;
    } else {
      cursor.position = since.offset;
    }
    if (cursor.closed || cursor.target.closed) {
      return;
    }
    cursor.epoch = c.epoch;
    cursor.target.control(subscribedFrame(cursor, c, recovered, reason, first));
    // Several frames of at most 1 MiB each (limits/snapshot-frames.ts); stop once the target is over its queue bound.
    for (const part of snapshotFrames(snapshot ?? [])) {
      if (cursor.target.closed || !cursor.target.deliver(messagesFrame(c.name, c.epoch, part, true), c.name, c.epoch, cursor.position)) {
        break;
      }
    }
    await this.catchUp(cursor, c);
  }

  /** Tells a target again where an open cursor stands (a subscription by name over a pattern's cursor). */
  announce(cursor: Cursor, c: Channel, id: number | string | undefined): void {
    const first = c.count === 0 ? c.lastOffset + 1 : c.firstOffset;
    cursor.target.control({ ...subscribedFrame(cursor, c, true, undefined, first), ...(id === undefined ? {} : { id }) });
  }

  /** Replays from the log until the position reaches the channel's last offset, then goes live. Never throws. */
  async catchUp(cursor: Cursor, c: Channel): Promise<void> {
    if (cursor.catching) {
      return;
    }
    cursor.catching = true;
    cursor.stalled = false;
    try {
      await this.replay(cursor, c);
    } catch {
      // The store failed (Redis down): wait, not live, until the store is back or a message arrives.
      cursor.live = false;
      cursor.stalled = true;
    } finally {
      cursor.catching = false;
    }
  }

  private async replay(cursor: Cursor, c: Channel): Promise<void> {
    const target = cursor.target;
    let idle = 0;
    while (!cursor.closed && !target.closed) {
      if (cursor.position >= c.lastOffset) {
        cursor.live = true;
        return;
      }
      const epoch = c.epoch;
      const { messages } = await this.o.log.read(c.name, { after: cursor.position, limit: this.o.replayPageSize });
      if (cursor.closed || target.closed) {
        return;
      }
      if (c.epoch !== epoch || cursor.epoch !== epoch) {
        // The channel got a new epoch during the read (storeMoved reset the position): read again.
        continue;
      }
      if (messages.length === 0) {
        // The log has not caught up with what this instance was told (a remote append in flight).
        if (++idle > 200) {
          cursor.live = true;
          return;
        }
        await sleep(5);
        continue;
      }
      idle = 0;
      if (messages[0].offset > cursor.position + 1) {
        // Retention evicted part of what this cursor was replaying.
        target.control({
          ...subscribedFrame(cursor, c, false, 'expired', messages[0].offset),
          offset: messages[0].offset - 1,
        });
      }
      if (!(await this.deliverPage(cursor, c, messages))) {
        return;
      }
    }
  }

  /**
   * Delivers one page read from the log in frames of at most half the target's queue budget (at
   * least one message each), waiting before each frame until the queue is under that half: replay
   * never fills a client's queue, however large the page (ws.replayPageSize × message size), so a
   * client is closed for a slow read only by live traffic, never for reading history. Returns false
   * when the cursor or its target closed, or the epoch moved, meanwhile.
   */
  private async deliverPage(cursor: Cursor, c: Channel, messages: StoredMessage[]): Promise<boolean> {
    const target = cursor.target;
    const budget = target.maxQueueBytes / 2;
    const epoch = cursor.epoch;
    let from = 0;
    while (from < messages.length) {
      while (target.queuedBytes() > budget && !target.closed && !cursor.closed) {
        await sleep(5);
      }
      if (cursor.closed || target.closed || cursor.epoch !== epoch || c.epoch !== epoch) {
        // An epoch change reset the position (storeMoved): the loop reads again from there.
        return !(cursor.closed || target.closed);
      }
      let to = from + 1;
      let bytes = Buffer.byteLength(messages[from].item);
      while (to < messages.length) {
        bytes += Buffer.byteLength(messages[to].item) + 1;
        if (bytes > budget) {
          break;
        }
        to++;
      }
      const page = from === 0 && to === messages.length ? messages : messages.slice(from, to);
      const last = page[page.length - 1].offset;
      if (target.deliver(messagesFrame(c.name, c.epoch, page), c.name, c.epoch, last)) {
        this.o.delivered(channelNamespace(c.name), target.transport, page.length);
      }
      cursor.position = last;
      from = to;
    }
    return true;
  }

  /**
   * The log moved a channel other than by an append this instance delivered: a cursor of an older
   * epoch starts over in the new one (`subscribed` with recovered:false, reason epoch_changed); a
   * live cursor behind the last offset (appends this instance missed) reads the log.
   */
  storeMoved(c: Channel): void {
    const first = c.count === 0 ? c.lastOffset + 1 : c.firstOffset;
    for (const cursor of this.byChannel.get(c.name) ?? []) {
      if (cursor.closed || cursor.target.closed) {
        continue;
      }
      if (cursor.epoch !== c.epoch) {
        cursor.live = false;
        cursor.position = first - 1;
        cursor.epoch = c.epoch;
        cursor.target.control(subscribedFrame(cursor, c, false, 'epoch_changed', first));
        void this.catchUp(cursor, c);
      } else if (cursor.live && cursor.position < c.lastOffset) {
        cursor.live = false;
        void this.catchUp(cursor, c);
      }
    }
  }

  /** The store is back: restart stalled catch-ups. */
  restartStalled(lookup: (name: string) => Channel | undefined): void {
    for (const [name, set] of this.byChannel) {
      const c = lookup(name);
      for (const cursor of set) {
        if (c && cursor.stalled && !cursor.catching && !cursor.closed) {
          void this.catchUp(cursor, c);
        }
      }
    }
  }
}

function subscribedFrame(
  cursor: Cursor,
  c: Channel,
  recovered: boolean,
  reason: SubscribedFrame['reason'],
  first: number,
): SubscribedFrame {
  return {
    type: 'subscribed',
    ...(cursor.id === undefined ? {} : { id: cursor.id }),
    channel: c.name,
    ...(cursor.pattern ? { pattern: cursor.pattern } : {}),
    epoch: c.epoch,
    offset: cursor.position,
    recovered,
    ...(reason ? { reason } : {}),
    firstOffset: first,
    lastOffset: c.lastOffset,
    kind: c.kind as ChannelKind,
    schema: c.schema,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
