/**
 * A pattern (`app/*`, `evm/**`) on the shared socket. The collector resumes patterns by time, not
 * by offset (docs/protocol.md, "Start positions"), so each listener keeps the position of every
 * channel it was given and drops what a resume by time repeats. No hole filling: channels that
 * match later join from their first message.
 */
import type { MessageItem, Since, SubscribedFrame } from '@streamgauge/protocol';
import type { ChannelHandler } from './channel-subscription';

export interface PatternListener {
  handler: ChannelHandler;
  start?: Since;
  positions: Map<string, { epoch: string; offset: number }>;
  /** Latest server ts delivered: where a resume by time starts. */
  lastTs?: number;
  closed: boolean;
}

export function newPatternListener(handler: ChannelHandler, from?: Since): PatternListener {
  return { handler, start: from && !('epoch' in from) ? from : undefined, positions: new Map(), closed: false };
}

export class PatternSubscription {
  readonly listeners = new Set<PatternListener>();
  sent = false;

  constructor(readonly name: string) {}

  since(): Since | undefined {
    let ts: number | undefined;
    for (const l of this.listeners) {
      if (l.lastTs !== undefined && (ts === undefined || l.lastTs < ts)) {
        ts = l.lastTs;
      }
    }
    if (ts !== undefined) {
      return { time: ts };
    }
    for (const l of this.listeners) {
      if (l.start) {
        return l.start;
      }
    }
    return undefined;
  }

  onSubscribed(f: SubscribedFrame): void {
    for (const l of [...this.listeners]) {
      const pos = l.positions.get(f.channel);
      if (!pos || pos.epoch !== f.epoch || !f.recovered) {
        l.positions.set(f.channel, { epoch: f.epoch, offset: f.recovered ? f.offset : f.firstOffset - 1 });
      }
      l.handler.onSubscribed?.(f);
    }
  }

  onMessages(channel: string, epoch: string, items: MessageItem[], snapshot: boolean): void {
    for (const l of [...this.listeners]) {
      if (l.closed) {
        continue;
      }
      const pos = l.positions.get(channel);
      // After a resume by time, the replay repeats what was already delivered.
      const fresh = !snapshot && pos && pos.epoch === epoch ? items.filter((m) => m.offset > pos.offset) : items;
      if (!fresh.length) {
        continue;
      }
      if (!snapshot) {
        l.positions.set(channel, { epoch, offset: fresh[fresh.length - 1].offset });
      }
      l.lastTs = Math.max(l.lastTs ?? 0, fresh[fresh.length - 1].ts);
      l.handler.onMessages(fresh, epoch, { channel, snapshot });
    }
  }

  errorAll(err: { code: string; message: string }): void {
    for (const l of this.listeners) {
      l.handler.onError?.(err);
    }
  }
}
