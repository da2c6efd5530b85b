/**
 * The hub: accepts a batch (validated whole, before any state changes), appends it to the log, and
 * hands what was appended (here or, with Redis, by another instance) to the fan-out and to append
 * listeners. Sessions (collector/src/sessions/) read through the cursor engine it owns; the hub
 * knows nothing of transports or subscriptions.
 */
import { performance } from 'node:perf_hooks';
import { ErrorCode, type PublishItem, type PublishResult, channelNamespace } from '@streamgauge/protocol';
import type { ChannelDefinition } from '../config/defaults';
import { sgError } from '../errors';
import type { Channel, ChannelRegistry } from '../channels/channel-registry';
import type { ChannelMeta, EventLog, StoreChange, StoredMessage } from '../log/event-log';
import type { CoreMetrics } from '../metrics/core-metrics';
import type { Logger } from '../logger';
import type { CursorTarget } from './cursor';
import { CursorEngine } from './cursor-engine';
import { FanOut } from './fan-out';
import { PatternRegistry } from './pattern-registry';
import { type ChannelFilter, validateBatch } from './validate-batch';

export { type ChannelFilter, MAX_PUBLISH_ID_LENGTH } from './validate-batch';
export { messagesFrame } from './messages-frame';

export interface HubOptions {
  log: EventLog;
  registry: ChannelRegistry;
  metrics: CoreMetrics;
  logger: Logger;
  autoCreate: boolean;
  maxChannels: number;
  maxMessageBytes: number;
  maxBatch: number;
  maxInferredFields: number;
  replayPageSize: number;
  /** Longest entity `ttl` honoured, seconds (telemetry.maxTtlSeconds); longer ones are cut to it. */
  maxTtlSeconds?: number;
}

/**
 * A publisher's place in line (http/arrival-order.ts: requests on one connection): the batch waits
 * for its turn right before it is handed to the log, and releases it once handed, so batches reach
 * the log, and get their offsets, in the order their requests arrived.
 */
export interface PublishTurn {
  /** undefined when it is already this batch's turn. */
  wait(): Promise<void> | undefined;
  release(): void;
}

/** Listener for every message appended (locally or by another instance), in offset order per channel. */
export type AppendListener = (channel: Channel, messages: StoredMessage[], items?: PublishItem[]) => void;

export class Hub {
  readonly cursors: CursorEngine;
  readonly patterns = new PatternRegistry();
  private readonly fanOut: FanOut;
  private readonly appendListeners = new Set<AppendListener>();
  /** Every open session (store-down notices reach sessions with no cursor too). */
  readonly sessions = new Set<CursorTarget>();

  constructor(private readonly o: HubOptions) {
    this.cursors = new CursorEngine({
      log: o.log,
      replayPageSize: o.replayPageSize,
      // Straight to the counter: a replay may run while nothing is published, so no flush would report it.
      delivered: (ns, transport, n) => o.metrics.delivered.inc({ namespace: ns, transport }, n),
    });
    this.fanOut = new FanOut(this.cursors, o.metrics, o.logger);
    o.registry.onAdded((c) => this.patterns.channelAdded(c));
    o.log.onRemoteAppend?.((messages) => this.acceptRemote(messages));
    o.log.onStoreChange?.((change) => this.onStoreChange(change));
  }

  get registry(): ChannelRegistry {
    return this.o.registry;
  }

  get log(): EventLog {
    return this.o.log;
  }

  /** Open cursors (one per session and channel). */
  get subscriptions(): number {
    return this.cursors.size;
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

  /** Brings the registry up to the store for one channel (Redis: asked before calling a position lost). */
  async refresh(name: string): Promise<void> {
    const fresh = await this.o.log.refreshMeta?.(name);
    if (fresh) {
      this.syncChannel(fresh);
    }
  }

  /** Starts a new epoch for a channel (its history dropped); subscribers are told as on store loss. */
  async resetEpoch(name: string): Promise<void> {
    const meta = await this.o.log.resetEpoch(name);
    this.syncChannel(meta);
  }

  // ---- publish -------------------------------------------------------------------------------

  /**
   * Validates the whole batch, then creates its new channels, grows inferred schemas, appends it
   * atomically and delivers it. Resolves with the assigned offsets once the log holds them and this
   * instance's live subscribers have been written them.
   */
  async publish(
    items: PublishItem[],
    filter?: ChannelFilter,
    ifExpiresAt?: readonly number[],
    turn?: PublishTurn,
  ): Promise<PublishResult[]> {
    const plan = validateBatch(items, (n) => this.o.registry.get(n), this.o, Date.now(), filter);
    // Expiry deletes (telemetry): appended only if the key's deadline is still the one swept.
    ifExpiresAt?.forEach((at, i) => (plan.items[i].ifExpiresAt = at));
    if (plan.created.size > 0 && this.o.registry.size + plan.created.size > this.o.maxChannels) {
      throw sgError(
        ErrorCode.ChannelLimit,
        `creating ${[...plan.created.keys()].join(', ')} would exceed channels.maxChannels (${this.o.maxChannels})`,
      );
    }
    // Valid as a whole: only now does anything change. Schemas grow before the first await, so a
    // concurrent batch is checked against them.
    for (const [c, fields] of plan.grown) {
      this.o.registry.addFields(c, fields);
    }
    for (const [name, fields] of plan.created) {
      // The log checks the limit again as it creates: concurrent creators cannot pass it.
      const c =
        this.o.registry.get(name) ??
        this.o.registry.upsert(await this.o.log.ensureChannel(name, this.o.maxChannels), { name, kind: 'stream' });
      this.o.registry.addFields(c, fields);
    }
    const waiting = turn?.wait();
    if (waiting) {
      await waiting;
    }
    const acceptedAt = performance.now();
    // append() takes the batch (and its offsets) synchronously: the next request in line may go.
    const appended = this.o.log.append(plan.items);
    turn?.release();
    const stored = await appended;
    if (stored.some((m) => m.unchanged)) {
      // Retried publish ids and stale expiries were not appended: deliver only what was.
      const kept = stored.map((_, i) => i).filter((i) => !stored[i].unchanged);
      this.accept(
        kept.map((i) => stored[i]),
        acceptedAt,
        kept.map((i) => items[i]),
      );
    } else {
      this.accept(stored, acceptedAt, items);
    }
    // A batch is mostly one channel: look its epoch up once per run of the same channel, not per message.
    let lastChannel = '';
    let epoch = '';
    const result = stored.map((m) => {
      if (m.channel !== lastChannel) {
        lastChannel = m.channel;
        epoch = this.o.registry.get(m.channel)!.epoch;
      }
      const r: PublishResult = { channel: m.channel, epoch, offset: m.offset };
      if (m.unchanged === 'duplicate') {
        r.duplicate = true;
      }
      return r;
    });
    // The answer goes after the live delivery of this turn, not before it: the subscribers' copy is
    // written first (the answer used to delay it by its own write, about 0.15 ms of the median
    // publish-to-deliver latency, BENCHMARKS.md), and a publisher that gets its answer knows that
    // this instance's live subscribers were sent the messages. A sequential publisher loses nothing:
    // its next request would have waited for the flush on the event loop anyway.
    await this.fanOut.written();
    return result;
  }

  /** Messages appended by another instance (Redis): deliver them like local ones. */
  private acceptRemote(messages: StoredMessage[]): void {
    const accepted: StoredMessage[] = [];
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
      accepted.push(m);
    }
    this.accept(accepted, performance.now(), undefined, true);
  }

  /**
   * The store was lost or came back, or channels changed behind this instance's back (Redis): tell
   * sessions the store is down, follow new channels and epochs, restart stalled catch-ups.
   */
  private onStoreChange(change: StoreChange): void {
    if (!change.up && change.channels.length === 0) {
      for (const target of [...this.sessions]) {
        target.storeDown();
      }
    }
    for (const meta of change.channels) {
      this.syncChannel(meta);
    }
    if (change.up) {
      this.cursors.restartStalled((n) => this.o.registry.get(n));
    }
  }

  /**
   * The log moved a channel behind this instance's back (Redis: a new epoch after data loss,
   * appends missed while disconnected, a channel created elsewhere; or resetEpoch): the log already
   * holds the new state, so cursors compare their own epoch and position with it.
   */
  private syncChannel(meta: ChannelMeta): void {
    const c = this.o.registry.get(meta.name);
    if (!c) {
      this.o.registry.upsert(meta);
      return;
    }
    if (c.lastItemEpoch !== c.epoch) {
      c.lastItem = null;
      c.lastItemOffset = 0;
      c.lastItemEpoch = c.epoch;
      this.fanOut.drop(c.name);
    }
    this.cursors.storeMoved(c);
  }

  private accept(stored: StoredMessage[], acceptedAt: number, items?: PublishItem[], remote = false): void {
    const now = Date.now();
    const perChannel = new Map<Channel, StoredMessage[]>();
    for (const m of stored) {
      const c = this.o.registry.get(m.channel)!;
      if (m.offset >= c.lastItemOffset || c.lastItemEpoch !== c.epoch) {
        // Another instance's message can arrive after a newer local one (Redis): keep the newest.
        c.lastItem = m.item;
        c.lastItemOffset = m.offset;
        c.lastItemEpoch = c.epoch;
      }
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
      this.fanOut.add(c, msgs, acceptedAt);
      for (const l of this.appendListeners) {
        try {
          l(c, msgs, items);
        } catch (err) {
          // The messages are stored: a listener's failure must not fail the publish.
          this.o.logger.error({ err, channel: c.name }, 'append listener failed');
        }
      }
    }
  }
}
