/**
 * The hub: accepts messages into the log, and delivers them to subscriptions.
 *
 * Delivery has two modes per subscription. In catch-up it reads pages from the log after its
 * cursor; in live it takes messages straight from the publish path. A subscription switches to
 * live only when its cursor has reached the channel's last offset, checked synchronously, and live
 * delivery only ever sends offsets greater than the cursor: so there is no gap and no duplicate at
 * the seam, whatever the publishers do meanwhile. Live messages are gathered for one turn of the
 * event loop and sent as one frame per channel, built once and shared by every subscriber.
 */
import { performance } from 'node:perf_hooks';
import {
  type ChannelKind,
  CloseCode,
  ErrorCode,
  type PublishItem,
  type PublishResult,
  type Since,
  type SubscribedFrame,
  channelNamespace,
  isChannelName,
  isChannelPattern,
  isPattern,
  matchChannel,
} from '@streamgauge/protocol';
import type { ChannelDefinition } from '../config/defaults';
import { sgError } from '../errors';
import type { Channel, ChannelRegistry } from '../channels/channel-registry';
import type { AppendItem, ChannelMeta, EventLog, StoreChange, StoredMessage } from '../log/event-log';
import { snapshotFrames } from '../limits/snapshot-frames';
import type { CoreMetrics } from '../metrics/core-metrics';
import type { Sink } from './sink';

export interface HubOptions {
  log: EventLog;
  registry: ChannelRegistry;
  metrics: CoreMetrics;
  autoCreate: boolean;
  maxChannels: number;
  maxMessageBytes: number;
  maxBatch: number;
  replayPageSize: number;
  maxSubscriptionsPerSink: number;
  /** Longest entity `ttl` honoured, seconds (telemetry.maxTtlSeconds); longer ones are cut to it. */
  maxTtlSeconds?: number;
}

/** Longest publish id (docs/protocol.md). */
export const MAX_PUBLISH_ID_LENGTH = 128;

/** Decides, per channel, whether a subscriber may see it (API key scopes). */
export type ChannelFilter = (channel: string) => boolean;

class Subscription {
  cursor = 0;
  live = false;
  closed = false;
  /** A catch-up loop runs for it (one at a time). */
  catching = false;
  /** A catch-up failed (store down): restarted when the store comes back or the next message arrives. */
  stalled = false;
  constructor(
    readonly sink: Sink,
    readonly channel: Channel,
    readonly id: number | string | undefined,
    readonly pattern: string | undefined,
  ) {}
}

interface PatternSub {
  sink: Sink;
  pattern: string;
  id: number | string | undefined;
  filter?: ChannelFilter;
}

interface Pending {
  channel: Channel;
  messages: StoredMessage[];
  acceptedAt: number;
}

/** Listener for every message appended (locally or by another instance), in offset order per channel. */
export type AppendListener = (channel: Channel, messages: StoredMessage[], items?: PublishItem[]) => void;

export class Hub {
  private readonly subsByChannel = new Map<string, Set<Subscription>>();
  private readonly subsBySink = new Map<Sink, Map<string, Subscription>>();
  private readonly patternsBySink = new Map<Sink, Map<string, PatternSub>>();
  private pending = new Map<string, Pending>();
  private flushScheduled = false;
  private readonly appendListeners = new Set<AppendListener>();
  private readonly deliveredCounts = new Map<string, number>();
  private subscriptionCount = 0;

  constructor(private readonly o: HubOptions) {
    o.registry.onAdded((c) => this.onChannelAdded(c));
    o.log.onRemoteAppend?.((messages) => this.acceptRemote(messages));
    o.log.onStoreChange?.((change) => this.onStoreChange(change));
  }

  get subscriptions(): number {
    return this.subscriptionCount;
  }

  onAppend(listener: AppendListener): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /** Creates (or updates) a channel from a definition: sources declare their channels at start. */
  async declare(def: ChannelDefinition): Promise<Channel> {
    const meta = await this.o.log.ensureChannel(def.name);
    return this.o.registry.upsert(meta, def);
  }

  // ---- publish -------------------------------------------------------------------------------

  /**
   * Validates the whole batch, appends it atomically, then schedules delivery.
   * Resolves with the assigned offsets once the log holds the messages.
   */
  async publish(items: PublishItem[], filter?: ChannelFilter, ifExpiresAt?: readonly number[]): Promise<PublishResult[]> {
    if (items.length > this.o.maxBatch) {
      throw sgError(ErrorCode.BatchTooLarge, `a publish may hold at most ${this.o.maxBatch} messages, got ${items.length}`);
    }
    const now = Date.now();
    const newChannels = new Map<string, Channel>();
    const appendItems = items.map((it, i) => this.validate(it, i, now, newChannels, filter));
    // Expiry deletes (telemetry): appended only if the key's deadline is still the one swept.
    ifExpiresAt?.forEach((at, i) => (appendItems[i].ifExpiresAt = at));
    if (this.o.registry.size + newChannels.size > this.o.maxChannels && newChannels.size > 0) {
      throw sgError(
        ErrorCode.ChannelLimit,
        `creating ${[...newChannels.keys()].join(', ')} would exceed channels.maxChannels (${this.o.maxChannels})`,
      );
    }
    for (const [name, draft] of newChannels) {
      // The log checks the limit again as it creates: concurrent creators cannot pass it.
      const c = this.o.registry.upsert(await this.o.log.ensureChannel(name, this.o.maxChannels), {
        name,
        kind: 'stream',
      } as ChannelDefinition);
      this.o.registry.addFields(c, draft.schema.fields);
    }
    const acceptedAt = performance.now();
    const stored = await this.o.log.append(appendItems);
    if (stored.some((m) => m.unchanged)) {
      // Retried publish ids and stale expiries were not appended: deliver only what was.
      const kept = stored.map((m, i) => i).filter((i) => !stored[i].unchanged);
      this.accept(
        kept.map((i) => stored[i]),
        acceptedAt,
        kept.map((i) => items[i]),
      );
    } else {
      this.accept(stored, acceptedAt, items);
    }
    return stored.map((m) => {
      const r: PublishResult = { channel: m.channel, epoch: this.o.registry.get(m.channel)!.epoch, offset: m.offset };
      if (m.unchanged === 'duplicate') {
        r.duplicate = true;
      }
      return r;
    });
  }

  private validate(it: PublishItem, index: number, now: number, newChannels: Map<string, Channel>, filter?: ChannelFilter): AppendItem {
    const where = `messages[${index}]`;
    if (typeof it !== 'object' || it === null) {
      throw sgError(ErrorCode.BadRequest, `${where}: must be an object with channel and data`);
    }
    if (!isChannelName(it.channel)) {
      throw sgError(
        ErrorCode.BadChannelName,
        `${where}.channel ${JSON.stringify(it.channel)}: lower-case segments of [a-z0-9_.-] separated by '/', at most 8 segments`,
      );
    }
    if (filter && !filter(it.channel)) {
      throw sgError(ErrorCode.Forbidden, `${where}: no publish scope for channel ${it.channel}`);
    }
    if (typeof it.data !== 'object' || it.data === null || Array.isArray(it.data)) {
      throw sgError(ErrorCode.BadRequest, `${where}.data: must be a JSON object`);
    }
    let c = this.o.registry.get(it.channel) ?? newChannels.get(it.channel);
    if (!c) {
      if (!this.o.autoCreate) {
        throw sgError(ErrorCode.UnknownChannel, `${where}: unknown channel ${it.channel} (channels.autoCreate is off)`);
      }
      c = draftChannel(it.channel);
      newChannels.set(it.channel, c);
    }
    const data = JSON.stringify(it.data);
    // A UTF-16 unit is 1 to 3 UTF-8 bytes: count bytes only when the length alone cannot decide.
    const max = this.o.maxMessageBytes;
    if (data.length > max || (data.length * 3 > max && Buffer.byteLength(data) > max)) {
      throw sgError(
        ErrorCode.PayloadTooLarge,
        `${where}.data: ${Buffer.byteLength(data)} bytes exceeds limits.maxMessageBytes (${this.o.maxMessageBytes})`,
      );
    }
    const { problem, added } = this.o.registry.check(c, it.data);
    if (problem) {
      throw sgError(ErrorCode.SchemaMismatch, `${where} on ${it.channel}: ${problem}`);
    }
    if (added.length) {
      this.o.registry.addFields(c, added);
    }
    let key: string | undefined;
    if (c.kind !== 'stream') {
      const k = it.key ?? (c.schema.keyField ? it.data[c.schema.keyField] : undefined);
      if ((typeof k !== 'string' && typeof k !== 'number') || String(k).length === 0 || String(k).length > 256) {
        throw sgError(
          ErrorCode.BadRequest,
          `${where}: ${c.kind} channel ${it.channel} needs a key (1-256 characters) in "key" or data.${c.schema.keyField ?? 'key'}`,
        );
      }
      key = String(k);
    } else if (it.delete || it.key !== undefined) {
      throw sgError(ErrorCode.BadRequest, `${where}: key and delete apply only to state and entity channels; ${it.channel} is a stream`);
    }
    if (it.delete && c.kind !== 'entity') {
      throw sgError(ErrorCode.BadRequest, `${where}: delete applies only to entity channels; ${it.channel} is a ${c.kind} channel`);
    }
    if (it.ttl !== undefined && (typeof it.ttl !== 'number' || !Number.isFinite(it.ttl) || it.ttl <= 0)) {
      throw sgError(ErrorCode.BadRequest, `${where}.ttl: must be a number of seconds > 0, got ${JSON.stringify(it.ttl)}`);
    }
    if (it.ttl !== undefined && c.kind !== 'entity') {
      throw sgError(ErrorCode.BadRequest, `${where}: ttl applies only to entity channels; ${it.channel} is a ${c.kind} channel`);
    }
    if (it.delete !== undefined && typeof it.delete !== 'boolean') {
      throw sgError(ErrorCode.BadRequest, `${where}.delete: must be true or false, got ${JSON.stringify(it.delete)}`);
    }
    if (it.id !== undefined && (typeof it.id !== 'string' || it.id.length === 0 || it.id.length > MAX_PUBLISH_ID_LENGTH)) {
      throw sgError(
        ErrorCode.BadRequest,
        `${where}.id: must be a string of 1-${MAX_PUBLISH_ID_LENGTH} characters, got ${JSON.stringify(it.id)}`,
      );
    }
    const out: AppendItem = { channel: it.channel, ts: now, key, deleted: it.delete ? true : undefined, data, id: it.id };
    if (c.kind === 'entity') {
      // Kept by the store with the message, so whichever instance holds the expiry lease sees it.
      out.expiresAt = it.ttl !== undefined && !it.delete ? now + Math.min(it.ttl, this.o.maxTtlSeconds ?? Infinity) * 1000 : null;
    }
    return out;
  }

  /** Messages appended by another instance (Redis): deliver them like local ones. */
  private acceptRemote(messages: StoredMessage[]): void {
    const byChannel = new Map<string, StoredMessage[]>();
    for (const m of messages) {
      let c = this.o.registry.get(m.channel);
      if (!c) {
        const meta = this.o.log.meta(m.channel);
        if (!meta) {
          continue;
        }
        c = this.o.registry.upsert(meta);
      }
      // Created by another instance: infer the schema from its messages, as that instance did.
      if (!c.schema.declared && c.schema.fields.length === 0) {
        this.o.registry.addFields(c, this.o.registry.check(c, JSON.parse(m.data) as Record<string, unknown>).added);
      }
      let list = byChannel.get(m.channel);
      if (!list) {
        byChannel.set(m.channel, (list = []));
      }
      list.push(m);
    }
    this.accept([...byChannel.values()].flat(), performance.now(), undefined, true);
  }

  /**
   * The store was lost or came back, or channels changed behind this instance's back (Redis): tell
   * subscribers the store is down, follow new channels and epochs, restart stalled catch-ups.
   */
  private onStoreChange(change: StoreChange): void {
    if (!change.up && change.channels.length === 0) {
      // WebSocket subscribers are closed with 4504: they reconnect with backoff, maybe to an
      // instance that still reaches the store, and resume from their position. Others (SSE) get an
      // error event and stay: their delivery resumes by itself when the store is back.
      const sinks = new Set([...this.subsBySink.keys(), ...this.patternsBySink.keys()]);
      for (const sink of sinks) {
        if (sink.close) {
          sink.close(CloseCode.StoreUnavailable, 'event store unavailable: reconnect with backoff and resume');
        } else {
          sink.sendFrame({
            type: 'error',
            code: ErrorCode.StoreUnavailable,
            message: 'event store unavailable: delivery pauses, and resumes without gaps when the store returns',
          });
        }
      }
    }
    for (const meta of change.channels) {
      this.syncChannel(meta);
    }
    if (change.up) {
      for (const subs of this.subsByChannel.values()) {
        for (const sub of subs) {
          if (sub.stalled && !sub.catching && !sub.closed) {
            void this.catchUp(sub);
          }
        }
      }
    }
  }

  /**
   * This instance gave a channel a new epoch in the log (EventLog.resetEpoch, a source whose
   * upstream was reset): its subscribers start over exactly as when the store lost the channel.
   */
  adoptEpoch(meta: ChannelMeta): void {
    this.syncChannel(meta);
  }

  /** Brings a channel up to the store's metadata: a new channel, a new epoch, or appends this instance missed. */
  private syncChannel(meta: ChannelMeta): void {
    const c = this.o.registry.get(meta.name);
    if (!c) {
      this.o.registry.upsert(meta);
      return;
    }
    const subs = this.subsByChannel.get(c.name) ?? new Set<Subscription>();
    if (c.epoch !== meta.epoch) {
      // The store lost this channel's history: every subscriber starts over in the new epoch.
      this.o.registry.upsert(meta);
      c.lastItem = null;
      this.pending.delete(c.name);
      const first = meta.count === 0 ? meta.lastOffset + 1 : meta.firstOffset;
      for (const sub of subs) {
        if (sub.closed) {
          continue;
        }
        sub.live = false;
        sub.cursor = first - 1;
        sub.sink.sendFrame({
          type: 'subscribed',
          ...(sub.id === undefined ? {} : { id: sub.id }),
          channel: c.name,
          ...(sub.pattern ? { pattern: sub.pattern } : {}),
          epoch: c.epoch,
          offset: sub.cursor,
          recovered: false,
          reason: 'epoch_changed',
          firstOffset: first,
          lastOffset: c.lastOffset,
          kind: c.kind,
          schema: c.schema,
        });
        void this.catchUp(sub);
      }
      return;
    }
    if (meta.lastOffset > c.lastOffset || meta.firstOffset !== c.firstOffset) {
      c.lastOffset = Math.max(c.lastOffset, meta.lastOffset);
      c.firstOffset = meta.firstOffset;
      c.count = meta.count;
      c.lastTs = meta.lastTs ?? c.lastTs;
      for (const sub of subs) {
        if (sub.live && sub.cursor < c.lastOffset) {
          sub.live = false;
          void this.catchUp(sub);
        }
      }
    }
  }

  private accept(stored: StoredMessage[], acceptedAt: number, items?: PublishItem[], remote = false): void {
    const now = Date.now();
    const perChannel = new Map<Channel, StoredMessage[]>();
    for (const m of stored) {
      const c = this.o.registry.get(m.channel)!;
      if (m.offset >= c.lastOffset) {
        // Another instance's message can arrive after a newer local one (Redis): keep the newest.
        c.lastTs = m.ts;
        c.lastItem = m.item;
      }
      c.lastOffset = Math.max(c.lastOffset, m.offset);
      c.count++;
      let list = perChannel.get(c);
      if (!list) {
        perChannel.set(c, (list = []));
      }
      list.push(m);
    }
    for (const [c, msgs] of perChannel) {
      this.o.registry.count(c, msgs.length, now);
      if (!remote) {
        // Counted once, by the instance that accepted it: summing over instances gives the total.
        this.o.metrics.published.inc({ namespace: channelNamespace(c.name) }, msgs.length);
      }
      const p = this.pending.get(c.name);
      if (p) {
        p.messages.push(...msgs);
      } else {
        this.pending.set(c.name, { channel: c, messages: msgs, acceptedAt });
      }
      for (const l of this.appendListeners) {
        l(c, msgs, items);
      }
    }
    if (!this.flushScheduled && this.pending.size > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  // ---- delivery ------------------------------------------------------------------------------

  private flush(): void {
    this.flushScheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const p of pending.values()) {
      const subs = this.subsByChannel.get(p.channel.name);
      if (subs && subs.size > 0) {
        this.deliverLive(p, subs);
      }
    }
    for (const [k, n] of this.deliveredCounts) {
      const i = k.indexOf('|');
      this.o.metrics.delivered.inc({ namespace: k.slice(0, i), transport: k.slice(i + 1) }, n);
    }
    this.deliveredCounts.clear();
  }

  private deliverLive(p: Pending, subs: Set<Subscription>): void {
    const msgs = inOffsetOrder(p.messages);
    const first = msgs[0].offset;
    const last = msgs[msgs.length - 1].offset;
    // Local appends and other instances' notices (Redis) can interleave in one turn with a hole
    // between them: subscribers behind such a batch read it from the log instead.
    const hole = last - first + 1 !== msgs.length;
    const c = p.channel;
    let whole: string | undefined;
    let wsSent = 0;
    let sseSent = 0;
    for (const sub of subs) {
      if (!sub.live || sub.closed) {
        if (sub.stalled && !sub.catching && !sub.closed) {
          void this.catchUp(sub);
        }
        continue;
      }
      if (sub.cursor >= last) {
        continue;
      }
      let frame: string;
      let n: number;
      if (sub.cursor === first - 1 && !hole) {
        frame = whole ??= messagesFrame(c.name, c.epoch, msgs);
        n = msgs.length;
      } else if (sub.cursor >= first && !hole) {
        const part = msgs.filter((m) => m.offset > sub.cursor);
        frame = messagesFrame(c.name, c.epoch, part);
        n = part.length;
      } else {
        // A gap (messages from another instance arrived out of order): read it from the log.
        sub.live = false;
        void this.catchUp(sub);
        continue;
      }
      if (sub.sink.sendMessages(frame, c.name, last, c.epoch)) {
        sub.cursor = last;
        if (sub.sink.transport === 'ws') {
          wsSent += n;
        } else {
          sseSent += n;
        }
      } else {
        this.o.metrics.dropped.inc({ namespace: channelNamespace(c.name), reason: 'slow_consumer' }, n);
      }
    }
    const ns = channelNamespace(c.name);
    const sentAt = performance.now();
    if (wsSent > 0) {
      this.countDelivered(ns, 'ws', wsSent);
      this.o.metrics.publishToSend.observe({ transport: 'ws' }, (sentAt - p.acceptedAt) / 1000);
    }
    if (sseSent > 0) {
      this.countDelivered(ns, 'sse', sseSent);
      this.o.metrics.publishToSend.observe({ transport: 'sse' }, (sentAt - p.acceptedAt) / 1000);
    }
  }

  private countDelivered(ns: string, transport: string, n: number): void {
    const k = `${ns}|${transport}`;
    this.deliveredCounts.set(k, (this.deliveredCounts.get(k) ?? 0) + n);
  }

  // ---- subscriptions -------------------------------------------------------------------------

  /**
   * Subscribes a sink to a channel or pattern. Sends `subscribed` (one per matched channel), then
   * the replay, then live messages. Throws SgError for refusals; the caller turns it into an
   * error frame and the connection stays open.
   */
  async subscribe(sink: Sink, channel: string, since: Since | undefined, id?: number | string, filter?: ChannelFilter): Promise<void> {
    const pattern = isPattern(channel);
    if (pattern ? !isChannelPattern(channel) : !isChannelName(channel)) {
      throw sgError(
        ErrorCode.BadChannelName,
        `${JSON.stringify(channel)} is neither a channel name nor a pattern (segments, '*', trailing '**')`,
      );
    }
    const mine = this.subsBySink.get(sink);
    const myPatterns = this.patternsBySink.get(sink);
    if (mine?.has(channel) || myPatterns?.has(channel)) {
      throw sgError(ErrorCode.AlreadySubscribed, `already subscribed to ${channel}`);
    }
    if ((mine?.size ?? 0) + (myPatterns?.size ?? 0) >= this.o.maxSubscriptionsPerSink) {
      throw sgError(
        ErrorCode.SubscriptionLimit,
        `at most ${this.o.maxSubscriptionsPerSink} subscriptions per connection (ws.maxSubscriptionsPerConnection)`,
      );
    }
    if (pattern) {
      if (since && 'epoch' in since) {
        throw sgError(
          ErrorCode.BadRequest,
          'a pattern subscription takes since.time or since.last, not an epoch and offset: resume each channel by name',
        );
      }
      const ps: PatternSub = { sink, pattern: channel, id, filter };
      let map = this.patternsBySink.get(sink);
      if (!map) {
        this.patternsBySink.set(sink, (map = new Map()));
      }
      map.set(channel, ps);
      for (const c of [...this.o.registry.all()]) {
        if (matchChannel(channel, c.name) && (!filter || filter(c.name)) && !this.subsBySink.get(sink)?.has(c.name)) {
          await this.start(sink, c, since, id, channel);
        }
      }
      return;
    }
    if (filter && !filter(channel)) {
      throw sgError(ErrorCode.Forbidden, `no subscribe scope for channel ${channel}`);
    }
    const c = this.o.registry.get(channel);
    if (!c) {
      throw sgError(ErrorCode.UnknownChannel, `unknown channel ${channel}: GET /api/v1/channels lists them`);
    }
    await this.start(sink, c, since, id, undefined);
  }

  unsubscribe(sink: Sink, channel: string): boolean {
    const ps = this.patternsBySink.get(sink);
    if (ps?.delete(channel)) {
      for (const sub of [...(this.subsBySink.get(sink)?.values() ?? [])]) {
        if (sub.pattern === channel) {
          this.dropSub(sub);
        }
      }
      return true;
    }
    const sub = this.subsBySink.get(sink)?.get(channel);
    if (!sub) {
      return false;
    }
    this.dropSub(sub);
    return true;
  }

  /** Forgets everything of a sink (on close). */
  removeSink(sink: Sink): void {
    for (const sub of [...(this.subsBySink.get(sink)?.values() ?? [])]) {
      this.dropSub(sub);
    }
    this.subsBySink.delete(sink);
    this.patternsBySink.delete(sink);
  }

  /** Positions of a sink's subscriptions (SSE event ids). */
  positions(sink: Sink): { channel: string; epoch: string; offset: number }[] {
    return [...(this.subsBySink.get(sink)?.values() ?? [])].map((s) => ({
      channel: s.channel.name,
      epoch: s.channel.epoch,
      offset: s.cursor,
    }));
  }

  private dropSub(sub: Subscription): void {
    sub.closed = true;
    this.subsByChannel.get(sub.channel.name)?.delete(sub);
    const m = this.subsBySink.get(sub.sink);
    if (m?.get(sub.channel.name) === sub) {
      m.delete(sub.channel.name);
      this.subscriptionCount--;
    }
  }

  private onChannelAdded(c: Channel): void {
    for (const [sink, patterns] of this.patternsBySink) {
      for (const ps of patterns.values()) {
        if (matchChannel(ps.pattern, c.name) && (!ps.filter || ps.filter(c.name)) && !this.subsBySink.get(sink)?.has(c.name)) {
          // A new channel is empty (or only just created by this publish): start it from offset 0 so
          // its first messages reach the pattern's subscriber.
          void this.start(sink, c, { epoch: c.epoch, offset: 0 }, ps.id, ps.pattern).catch(() => undefined);
          break;
        }
      }
    }
  }

  private async start(
    sink: Sink,
    c: Channel,
    since: Since | undefined,
    id: number | string | undefined,
    pattern: string | undefined,
  ): Promise<void> {
    if (since && 'epoch' in since && (since.epoch !== c.epoch || since.offset > c.lastOffset) && this.o.log.refreshMeta) {
      // A client resuming here may have seen, on another instance, offsets or an epoch this
      // instance has not heard of yet (Redis): ask the store before calling the position lost.
      const fresh = await this.o.log.refreshMeta(c.name);
      if (fresh) {
        this.syncChannel(fresh);
      }
    }
    try {
      await this.startSubscription(sink, c, since, id, pattern);
    } catch (err) {
      // The store failed before the subscription began (Redis down): forget it so the client can retry.
      const sub = this.subsBySink.get(sink)?.get(c.name);
      if (sub && !sub.live && !sub.catching) {
        this.dropSub(sub);
      }
      throw err;
    }
  }

  private async startSubscription(
    sink: Sink,
    c: Channel,
    since: Since | undefined,
    id: number | string | undefined,
    pattern: string | undefined,
  ): Promise<void> {
    const sub = new Subscription(sink, c, id, pattern);
    let m = this.subsBySink.get(sink);
    if (!m) {
      this.subsBySink.set(sink, (m = new Map()));
    }
    m.set(c.name, sub);
    this.subscriptionCount++;
    let set = this.subsByChannel.get(c.name);
    if (!set) {
      this.subsByChannel.set(c.name, (set = new Set()));
    }
    set.add(sub);

    const first = c.count === 0 ? c.lastOffset + 1 : c.firstOffset;
    let recovered = true;
    let reason: SubscribedFrame['reason'];
    let snapshot: StoredMessage[] | undefined;
    if (since === undefined) {
      sub.cursor = c.lastOffset;
      if (c.kind !== 'stream') {
        const upTo = c.lastOffset;
        snapshot = (await this.o.log.latestByKey(c.name)).filter((s) => s.offset <= upTo);
      }
    } else if ('last' in since) {
      sub.cursor = Math.max(first - 1, c.lastOffset - Math.max(0, Math.floor(since.last)));
    } else if ('time' in since) {
      const r = await this.o.log.read(c.name, { from: since.time, limit: 1 });
      sub.cursor = r.messages.length ? r.messages[0].offset - 1 : c.lastOffset;
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
      sub.cursor = first - 1;
    } else if (since.offset > c.lastOffset) {
      recovered = false;
      reason = 'ahead';
      sub.cursor = first - 1;
    } else if (since.offset < first - 1) {
      recovered = false;
      reason = 'expired';
      sub.cursor = first - 1;
    } else {
      sub.cursor = since.offset;
    }
    if (sub.closed) {
      return;
    }
    const frame: SubscribedFrame = {
      type: 'subscribed',
      ...(id === undefined ? {} : { id }),
      channel: c.name,
      ...(pattern ? { pattern } : {}),
      epoch: c.epoch,
      offset: sub.cursor,
      recovered,
      ...(reason ? { reason } : {}),
      firstOffset: first,
      lastOffset: c.lastOffset,
      kind: c.kind as ChannelKind,
      schema: c.schema,
    };
    sink.sendFrame(frame);
    // Several frames of at most 1 MiB each (limits/snapshot-frames.ts); stop once the sink is over its queue bound.
    for (const part of snapshotFrames(snapshot ?? [])) {
      if (!sink.sendMessages(messagesFrame(c.name, c.epoch, part, true), c.name, sub.cursor, c.epoch)) {
        break;
      }
    }
    await this.catchUp(sub);
  }

  /** Replays from the log until the cursor reaches the channel's last offset, then goes live. Never throws. */
  private async catchUp(sub: Subscription): Promise<void> {
    if (sub.catching) {
      return;
    }
    sub.catching = true;
    sub.stalled = false;
    try {
      await this.replay(sub);
    } catch {
      // The store failed (Redis down): wait, not live, until the store is back or a message arrives.
      sub.live = false;
      sub.stalled = true;
    } finally {
      sub.catching = false;
    }
  }

  private async replay(sub: Subscription): Promise<void> {
    const c = sub.channel;
    let idle = 0;
    while (!sub.closed && !sub.sink.closed) {
      if (sub.cursor >= c.lastOffset) {
        sub.live = true;
        return;
      }
      // Replay backpressure: let the socket drain rather than close a client for reading history.
      while (sub.sink.queuedBytes() > sub.sink.maxQueueBytes / 2 && !sub.sink.closed && !sub.closed) {
        await sleep(5);
      }
      const epoch = c.epoch;
      const { messages } = await this.o.log.read(c.name, { after: sub.cursor, limit: this.o.replayPageSize });
      if (sub.closed || sub.sink.closed) {
        return;
      }
      if (c.epoch !== epoch) {
        // The channel got a new epoch during the read (syncChannel reset the cursor): read again.
        continue;
      }
      if (messages.length === 0) {
        // The log has not caught up with what this instance was told (a remote append in flight).
        if (++idle > 200) {
          sub.live = true;
          return;
        }
        await sleep(5);
        continue;
      }
      idle = 0;
      if (messages[0].offset > sub.cursor + 1) {
        // Retention evicted part of what this subscription was replaying.
        sub.sink.sendFrame({
          type: 'subscribed',
          ...(sub.id === undefined ? {} : { id: sub.id }),
          channel: c.name,
          epoch: c.epoch,
          offset: messages[0].offset - 1,
          recovered: false,
          reason: 'expired',
          firstOffset: messages[0].offset,
          lastOffset: c.lastOffset,
          kind: c.kind,
          schema: c.schema,
        });
      }
      const last = messages[messages.length - 1].offset;
      if (sub.sink.sendMessages(messagesFrame(c.name, c.epoch, messages), c.name, last, c.epoch)) {
        this.countDelivered(channelNamespace(c.name), sub.sink.transport, messages.length);
      }
      sub.cursor = last;
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function draftChannel(name: string): Channel {
  return {
    name,
    kind: 'stream',
    schema: { fields: [], declared: false },
    retention: { maxMessages: 0, maxAgeSeconds: 0 },
    epoch: '',
    firstOffset: 1,
    lastOffset: 0,
    count: 0,
    lastTs: null,
    lastItem: null,
    perSecond: new Uint32Array(60),
    perSecondAt: 0,
  };
}

/** `{"type":"messages",…}` built from items that are already JSON. */
export function messagesFrame(channel: string, epoch: string, messages: StoredMessage[], snapshot = false): string {
  let s = `{"type":"messages","channel":"${channel}","epoch":"${epoch}",${snapshot ? '"snapshot":true,' : ''}"messages":[`;
  for (let i = 0; i < messages.length; i++) {
    s += i === 0 ? messages[i].item : `,${messages[i].item}`;
  }
  return `${s}]}`;
}
