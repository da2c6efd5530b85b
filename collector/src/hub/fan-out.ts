/**
 * Live fan-out: messages accepted in one turn of the event loop are gathered per channel and sent
 * at the next turn as one frame per channel, built once and shared by every live cursor. Each
 * target's delivery is guarded: a target that throws is failed (it closes itself) and the flush
 * carries on for everyone else; nothing reaches the publish path or the process.
 */
import { performance } from 'node:perf_hooks';
import { channelNamespace } from '@streamgauge/protocol';
import type { Channel } from '../channels/channel-registry';
import type { StoredMessage } from '../log/event-log';
import type { CoreMetrics } from '../metrics/core-metrics';
import type { Logger } from '../logger';
import type { Cursor } from './cursor';
import type { CursorEngine } from './cursor-engine';
import { messagesFrame } from './messages-frame';

interface Pending {
  channel: Channel;
  messages: StoredMessage[];
  acceptedAt: number;
}

export class FanOut {
  private pending = new Map<string, Pending>();
  private scheduled = false;
  /** Settles when the scheduled flush has written (one promise shared by every publish of the turn). */
  private flushWritten: { promise: Promise<void>; settle: () => void } | undefined;
  private readonly deliveredCounts = new Map<string, number>();

  constructor(
    private readonly engine: CursorEngine,
    private readonly metrics: CoreMetrics,
    private readonly logger: Logger,
  ) {}

  /** Queues messages of one channel (in offset order per call) for the next flush. */
  add(c: Channel, msgs: StoredMessage[], acceptedAt: number): void {
    const p = this.pending.get(c.name);
    if (p) {
      p.messages.push(...msgs);
    } else {
      this.pending.set(c.name, { channel: c, messages: msgs, acceptedAt });
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Forgets what is queued for a channel (its epoch changed: cursors re-read the log). */
  drop(channel: string): void {
    this.pending.delete(channel);
  }

  private countDelivered(ns: string, transport: string, n: number): void {
    const k = `${ns}|${transport}`;
    this.deliveredCounts.set(k, (this.deliveredCounts.get(k) ?? 0) + n);
  }

  /**
   * Settles once what is queued now has been written to every live subscriber's connection (the
   * next flush). The publish answer waits for it: see Hub.publish.
   */
  written(): Promise<void> {
    if (!this.scheduled) {
      return Promise.resolve();
    }
    if (!this.flushWritten) {
      let settle!: () => void;
      const promise = new Promise<void>((r) => (settle = r));
      this.flushWritten = { promise, settle };
    }
    return this.flushWritten.promise;
  }

  private flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    const written = this.flushWritten;
    this.pending = new Map();
    this.flushWritten = undefined;
    try {
      for (const p of pending.values()) {
        const cursors = this.engine.cursorsOf(p.channel.name);
        if (cursors && cursors.size > 0) {
          this.deliver(p, cursors);
        }
      }
      for (const [k, n] of this.deliveredCounts) {
        const i = k.indexOf('|');
        this.metrics.delivered.inc({ namespace: k.slice(0, i), transport: k.slice(i + 1) }, n);
      }
      this.deliveredCounts.clear();
    } finally {
      written?.settle();
    }
  }

  private deliver(p: Pending, cursors: Set<Cursor>): void {
    const msgs = inOffsetOrder(p.messages);
    const first = msgs[0].offset;
    const last = msgs[msgs.length - 1].offset;
    // Local appends and other instances' notices (Redis) can interleave in one turn with a hole
    // between them: cursors behind such a batch read it from the log instead.
    const hole = last - first + 1 !== msgs.length;
    const c = p.channel;
    // Read once per frame, not per subscriber: a channel's epoch is a getter that looks up the log's metadata.
    const epoch = c.epoch;
    let whole: string | undefined;
    let wsSent = 0;
    let sseSent = 0;
    for (const cursor of cursors) {
      const target = cursor.target;
      if (!cursor.live || cursor.closed || target.closed) {
        if (cursor.stalled && !cursor.catching && !cursor.closed && !target.closed) {
          void this.engine.catchUp(cursor, c);
        }
        continue;
      }
      if (cursor.position >= last || cursor.epoch !== epoch) {
        // Already there, or of an older epoch (storeMoved restarts it in the new one).
        continue;
      }
      let frame: string;
      let n: number;
      if (cursor.position === first - 1 && !hole) {
        frame = whole ??= messagesFrame(c.name, epoch, msgs);
        n = msgs.length;
      } else if (cursor.position >= first && !hole) {
        const part = msgs.filter((m) => m.offset > cursor.position);
        frame = messagesFrame(c.name, epoch, part);
        n = part.length;
      } else {
        // A gap (messages from another instance arrived out of order): read it from the log.
        cursor.live = false;
        void this.engine.catchUp(cursor, c);
        continue;
      }
      let ok: boolean;
      try {
        ok = target.deliver(frame, c.name, epoch, last);
      } catch (err) {
        // One session's failure stays with that session.
        this.logger.error({ err, channel: c.name }, 'delivery to a session failed: closing that session');
        try {
          target.fail(err);
        } catch {
          // The session is already broken; the flush must go on for the others.
        }
        continue;
      }
      if (ok) {
        cursor.position = last;
        if (target.transport === 'ws') {
          wsSent += n;
        } else {
          sseSent += n;
        }
      } else {
        this.metrics.dropped.inc({ namespace: channelNamespace(c.name), reason: 'slow_consumer' }, n);
      }
    }
    const ns = channelNamespace(c.name);
    const sentAt = performance.now();
    if (wsSent > 0) {
      this.countDelivered(ns, 'ws', wsSent);
      this.metrics.publishToSend.observe({ transport: 'ws' }, (sentAt - p.acceptedAt) / 1000);
    }
    if (sseSent > 0) {
      this.countDelivered(ns, 'sse', sseSent);
      this.metrics.publishToSend.observe({ transport: 'sse' }, (sentAt - p.acceptedAt) / 1000);
    }
  }
}

/** Sorted by offset without repeats; the common already-ordered case costs one pass. */
function inOffsetOrder(msgs: StoredMessage[]): StoredMessage[] {
  for (let i = 1; i < msgs.length; i++) {
    if (msgs[i].offset <= msgs[i - 1].offset) {
      const byOffset = new Map(msgs.map((m) => [m.offset, m]));
      return [...byOffset.values()].sort((a, b) => a.offset - b.offset);
    }
  }
  return msgs;
}
