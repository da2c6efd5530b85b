/**
 * One exact channel on the shared socket and the listeners that share it (reference counted).
 * Each listener gets every message after its own position, in offset order, each once: holes
 * (a listener joining a channel already delivered further on, a reconnect, a poll) are filled from
 * REST before newer messages are passed on; a lost position (recovered: false, a new epoch) goes
 * through the listener's onReset, and delivery continues after what it refilled.
 */
import type { MessageItem, Position, Since, SubscribedFrame } from '@streamgauge/protocol';
import { backoffDelay } from './backoff';
import type { Clock } from './clock';
import type { ClientDefaults } from './defaults';
import type { RestReader } from './transport';

export interface ResetInfo {
  channel: string;
  reason: 'epoch_changed' | 'expired' | 'ahead';
  epoch: string;
  firstOffset: number;
  lastOffset: number;
}

export interface DeliveryInfo {
  channel: string;
  /** The snapshot of a state/entity channel (latest message per key; offsets skip). */
  snapshot: boolean;
}

export interface ChannelHandler {
  onMessages(items: MessageItem[], epoch: string, info: DeliveryInfo): void;
  /** The collector's answer to a (re)subscribe: schema and kind may have changed. */
  onSubscribed?(frame: SubscribedFrame): void;
  /**
   * The position was lost. Refill (REST) and resolve with the position refilled up to; delivery
   * continues after it. Without a handler delivery continues from the collector's first offset.
   */
  onReset?(info: ResetInfo): Promise<Position>;
  onError?(err: { code: string; message: string }): void;
}

type Batch = { items: MessageItem[]; epoch: string };

export interface Listener {
  handler: ChannelHandler;
  epoch?: string;
  lastOffset: number;
  /** Holes are detected only once the listener has a position (given, or from the subscribed frame). */
  anchored: boolean;
  /** Where to start when not anchored: `last`/`time`, or absent for live (with the snapshot). */
  start?: Since;
  /** Non-null while a hole is filled or a reset runs: live messages wait here. */
  queue: Batch[] | null;
  queued: number;
  closed: boolean;
  /** Consecutive failed REST catch-ups: the next one waits with backoff. */
  catchUpFailures: number;
}

export interface SubscriptionDeps {
  rest?: RestReader;
  clock: Clock;
  random?: () => number;
  o: ClientDefaults;
  /** false once the client is closed: pending retries stop. */
  alive(): boolean;
  stats: { catchUps: number; resets: number };
}

export function newListener(handler: ChannelHandler, from?: Since): Listener {
  const pos = from && 'epoch' in from ? from : undefined;
  return {
    handler,
    epoch: pos?.epoch,
    lastOffset: pos?.offset ?? 0,
    anchored: pos !== undefined,
    start: pos ? undefined : from,
    queue: null,
    queued: 0,
    closed: false,
    catchUpFailures: 0,
  };
}

function errorOf(err: unknown): { code: string; message: string } {
  return { code: (err as { code?: string }).code ?? 'SG_CLIENT_NETWORK', message: (err as Error).message };
}

export class ChannelSubscription {
  readonly listeners = new Set<Listener>();
  /** Last position delivered on the wire (or by polling): the resume point. */
  epoch?: string;
  offset?: number;
  /** A subscribe frame was sent on the current socket. */
  sent = false;

  constructor(
    readonly name: string,
    private readonly d: SubscriptionDeps,
  ) {}

  /** Adds a listener; fills its hole when the channel was already delivered past its position. */
  add(l: Listener): void {
    this.listeners.add(l);
    if (this.listeners.size === 1) {
      this.epoch = l.anchored ? l.epoch : undefined;
      this.offset = l.anchored ? l.lastOffset : undefined;
      return;
    }
    if (!l.anchored || this.epoch === undefined || this.offset === undefined) {
      return;
    }
    if (this.epoch !== l.epoch) {
      void this.reset(l, { channel: this.name, reason: 'epoch_changed', epoch: this.epoch, firstOffset: 0, lastOffset: this.offset });
    } else if (this.offset > l.lastOffset) {
      void this.catchUp(l, this.offset);
    }
  }

  /** The `since` of the next subscribe frame: the wire's position, else the oldest listener's. */
  since(): Since | undefined {
    if (this.epoch !== undefined && this.offset !== undefined) {
      return { epoch: this.epoch, offset: this.offset };
    }
    let min: Listener | undefined;
    for (const l of this.listeners) {
      if (l.anchored && l.epoch !== undefined && (!min || l.lastOffset < min.lastOffset)) {
        min = l;
      }
    }
    if (min) {
      return { epoch: min.epoch!, offset: min.lastOffset };
    }
    for (const l of this.listeners) {
      if (l.start) {
        return l.start;
      }
    }
    return undefined;
  }

  onSubscribed(f: SubscribedFrame): void {
    const lost = !f.recovered;
    this.epoch = f.epoch;
    this.offset = lost ? f.firstOffset - 1 : f.offset;
    for (const l of [...this.listeners]) {
      l.handler.onSubscribed?.(f);
      if (!l.anchored) {
        // A live listener starts where the collector starts delivering.
        l.anchored = true;
        l.epoch = f.epoch;
        l.lastOffset = this.offset;
      } else if (l.queue) {
        // A fill or reset is running: it meets whatever changed when it hands over what waits.
        continue;
      } else if (lost) {
        // The wire's position was lost; a listener already refilled into this epoch and range is not.
        if (l.epoch !== f.epoch || l.lastOffset < f.firstOffset - 1 || l.lastOffset > f.lastOffset) {
          const info: ResetInfo = {
            channel: f.channel,
            reason: f.reason ?? 'expired',
            epoch: f.epoch,
            firstOffset: f.firstOffset,
            lastOffset: f.lastOffset,
          };
          void this.reset(l, info);
        }
      } else if (l.epoch === f.epoch && l.lastOffset < f.offset) {
        // Our position is older than the wire's resume point (we joined while it was pending).
        void this.catchUp(l, f.offset);
      }
    }
  }

  onMessages(epoch: string, items: MessageItem[], snapshot: boolean): void {
    if (!items.length) {
      return;
    }
    if (snapshot) {
      // Latest message per key, offsets skipping: passed on as it is, positions untouched.
      for (const l of [...this.listeners]) {
        if (!l.closed) {
          l.handler.onMessages(items, epoch, { channel: this.name, snapshot: true });
        }
      }
      return;
    }
    const last = items[items.length - 1].offset;
    if (this.epoch !== epoch || this.offset === undefined || last > this.offset) {
      this.epoch = epoch;
      this.offset = last;
    }
    for (const l of [...this.listeners]) {
      this.deliver(l, items, epoch);
    }
  }

  private deliver(l: Listener, items: MessageItem[], epoch: string): void {
    if (l.closed) {
      return;
    }
    if (l.queue) {
      l.queue.push({ items, epoch });
      l.queued += items.length;
      if (l.queued > this.d.o.maxQueuedPerListener) {
        // The hole takes too long to fill: drop what waits; the fill reads up to the wire anyway.
        l.queue = [];
        l.queued = 0;
      }
      return;
    }
    if (!items.length) {
      return;
    }
    if (l.anchored && l.epoch !== undefined && l.epoch !== epoch) {
      const info: ResetInfo = {
        channel: this.name,
        reason: 'epoch_changed',
        epoch,
        firstOffset: items[0].offset,
        lastOffset: items[items.length - 1].offset,
      };
      void this.reset(l, info, [{ items, epoch }]);
      return;
    }
    let i = 0;
    while (l.anchored && i < items.length && items[i].offset <= l.lastOffset) {
      i++;
    }
    if (i === items.length) {
      return;
    }
    const fresh = i === 0 ? items : items.slice(i);
    if (l.anchored && fresh[0].offset > l.lastOffset + 1 && this.d.rest) {
      void this.catchUp(l, fresh[0].offset - 1, [{ items: fresh, epoch }]);
      return;
    }
    l.anchored = true;
    l.epoch = epoch;
    l.lastOffset = fresh[fresh.length - 1].offset;
    l.handler.onMessages(fresh, epoch, { channel: this.name, snapshot: false });
  }

  private flushQueue(l: Listener): void {
    const queue = l.queue ?? [];
    l.queue = null;
    l.queued = 0;
    for (let i = 0; i < queue.length; i++) {
      this.deliver(l, queue[i].items, queue[i].epoch);
      if (l.queue) {
        // A new hole or reset started: the rest waits behind it.
        (l.queue as Batch[]).push(...queue.slice(i + 1));
        return;
      }
    }
  }

  /** Reads (l.lastOffset, until] from REST into the listener, then passes on what waited meanwhile. */
  async catchUp(l: Listener, until: number, pending: Batch[] = []): Promise<void> {
    const rest = this.d.rest;
    if (!rest) {
      return;
    }
    l.queue = [...pending];
    l.queued = pending.reduce((n, p) => n + p.items.length, 0);
    this.d.stats.catchUps++;
    try {
      let after = l.lastOffset;
      while (!l.closed && after < until) {
        const r = await rest.messages({ channel: this.name, after, limit: this.d.o.pageSize });
        if (l.closed) {
          return;
        }
        const first = r.messages[0]?.offset ?? r.lastOffset + 1;
        if (r.epoch !== l.epoch || (after + 1 < r.firstOffset && first > after + 1)) {
          const info: ResetInfo = {
            channel: this.name,
            reason: r.epoch !== l.epoch ? 'epoch_changed' : 'expired',
            epoch: r.epoch,
            firstOffset: r.firstOffset,
            lastOffset: r.lastOffset,
          };
          await this.reset(l, info, l.queue ?? []);
          return;
        }
        if (!r.messages.length) {
          break;
        }
        // A reset may have moved the listener while the page was on its way.
        const fresh = r.messages.filter((m) => m.offset > l.lastOffset);
        if (fresh.length) {
          l.lastOffset = fresh[fresh.length - 1].offset;
          l.handler.onMessages(fresh, r.epoch, { channel: this.name, snapshot: false });
        }
        after = r.messages[r.messages.length - 1].offset;
        if (!r.more) {
          break;
        }
      }
    } catch (err) {
      // REST is down too (collector restarting): keep what waits and try again with backoff, so
      // the hole is filled once REST is back and no request storm hits a failing proxy meanwhile.
      l.handler.onError?.(errorOf(err));
      l.catchUpFailures++;
      const o = this.d.o;
      const delay = Math.max(
        o.minReconnectDelayMs,
        backoffDelay(l.catchUpFailures, o.minReconnectDelayMs, o.maxReconnectDelayMs, this.d.random),
      );
      this.d.clock.setTimeout(() => {
        if (!l.closed && this.d.alive()) {
          void this.catchUp(l, until, l.queue ?? []);
        }
      }, delay);
      return;
    }
    l.catchUpFailures = 0;
    if (!l.closed) {
      this.flushQueue(l);
    }
  }

  async reset(l: Listener, info: ResetInfo, pending: Batch[] = []): Promise<void> {
    l.queue = [...pending];
    l.queued = pending.reduce((n, p) => n + p.items.length, 0);
    this.d.stats.resets++;
    let pos: Position = { epoch: info.epoch, offset: Math.max(0, info.firstOffset - 1) };
    try {
      if (l.handler.onReset) {
        pos = await l.handler.onReset(info);
      }
    } catch (err) {
      l.handler.onError?.(errorOf(err));
    }
    if (l.closed) {
      return;
    }
    l.epoch = pos.epoch;
    l.lastOffset = pos.offset;
    l.anchored = true;
    // What waited from an older epoch is of no use after the refill.
    l.queue = (l.queue ?? []).filter((q) => q.epoch === pos.epoch);
    this.flushQueue(l);
  }

  /** One poll (fallback mode): what the socket would have delivered since the channel's position. */
  async poll(): Promise<void> {
    const rest = this.d.rest!;
    if (this.epoch === undefined || this.offset === undefined) {
      const s = this.since();
      if (s && 'epoch' in s) {
        this.epoch = s.epoch;
        this.offset = s.offset;
      } else {
        // Live listeners: start at the channel's end, like a subscribe without since.
        const r = await rest.messages({ channel: this.name, limit: 1, tail: true });
        this.epoch = r.epoch;
        this.offset = r.lastOffset;
        for (const l of this.listeners) {
          if (!l.anchored) {
            l.anchored = true;
            l.epoch = r.epoch;
            l.lastOffset = r.lastOffset;
          }
        }
        return;
      }
    }
    for (let page = 0; page < 10 && this.listeners.size; page++) {
      const r = await rest.messages({ channel: this.name, after: this.offset, limit: this.d.o.pageSize });
      const first = r.messages[0]?.offset;
      const lost = r.epoch !== this.epoch ? 'epoch_changed' : first !== undefined && first > (this.offset ?? 0) + 1 ? 'expired' : undefined;
      if (lost) {
        this.epoch = r.epoch;
        this.offset = r.lastOffset;
        for (const l of [...this.listeners]) {
          const info: ResetInfo = {
            channel: this.name,
            reason: lost,
            epoch: r.epoch,
            firstOffset: r.firstOffset,
            lastOffset: r.lastOffset,
          };
          void this.reset(l, info, l.queue ?? []);
        }
        return;
      }
      if (!r.messages.length) {
        return;
      }
      this.onMessages(r.epoch, r.messages, false);
      if (!r.more) {
        return;
      }
    }
  }

  errorAll(err: { code: string; message: string }): void {
    for (const l of this.listeners) {
      l.handler.onError?.(err);
    }
  }
}
