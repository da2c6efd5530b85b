/**
 * The event log: where every accepted message is kept, and where offsets and epochs come from.
 * Two implementations: SQLite (embedded, one instance) and Redis Streams (several instances).
 * A message is acknowledged to its publisher only after `append` resolves.
 */

/** A message as the log keeps it. `item` is the serialized MessageItem, built once and reused for every delivery. */
export interface StoredMessage {
  channel: string;
  offset: number;
  ts: number;
  key?: string;
  deleted?: boolean;
  /** JSON text of `data`. */
  data: string;
  /** JSON text of the MessageItem (`{"offset":…,"ts":…,"data":…}`), as sent on every transport. */
  item: string;
  /**
   * Set by append() when nothing was appended for this item: `duplicate` (its publish id is in the
   * channel's window; offset and ts are the original message's) or `stale` (an expiry whose
   * deadline changed meanwhile; offset 0). Such messages are not delivered again.
   */
  unchanged?: 'duplicate' | 'stale';
}

export interface AppendItem {
  channel: string;
  ts: number;
  key?: string;
  deleted?: boolean;
  /** JSON text of `data`. */
  data: string;
  /** Publish id: when the channel's window holds it already, the original message is returned instead (docs/protocol.md). */
  id?: string;
  /**
   * Entity expiry, kept by the store with the message (so every instance sees it): a deadline in
   * ms since the epoch, `null` to clear a previous one (an upsert without ttl, a delete).
   */
  expiresAt?: number | null;
  /** An expiry delete: appended only if the key's deadline is still exactly this one, else `stale`. */
  ifExpiresAt?: number;
}

/** An entity whose `ttl` ran out, as kept by the store. */
export interface DueExpiry {
  channel: string;
  key: string;
  /** The deadline, ms since the epoch. */
  at: number;
}

export interface ChannelMeta {
  name: string;
  epoch: string;
  /** Oldest offset kept (lastOffset + 1 when the channel holds nothing). */
  firstOffset: number;
  lastOffset: number;
  count: number;
  lastTs: number | null;
}

export interface ReadOptions {
  /** Messages with offset > after. */
  after?: number;
  /** Messages with ts >= from (ms). */
  from?: number;
  /** Messages with ts <= to (ms). */
  to?: number;
  limit: number;
  /** Take the newest `limit` messages of the range instead of the oldest (still returned in offset order). */
  tail?: boolean;
}

export interface ReadResult {
  messages: StoredMessage[];
  /** true when more messages match past the limit. */
  more: boolean;
}

export interface RetentionPolicy {
  maxMessages: number;
  maxAgeSeconds: number;
}

export interface Eviction {
  channel: string;
  evicted: number;
}

export interface StoreChange {
  up: boolean;
  channels: ChannelMeta[];
}

export interface EventLog {
  /** Opens the store and returns every channel it holds. */
  open(): Promise<ChannelMeta[]>;
  /**
   * Returns the channel, creating it with a fresh epoch if it does not exist. With `maxChannels`,
   * refuses (SG_CHANNEL_LIMIT) to create it when the store already holds that many: checked and
   * created in one step, so concurrent creators on any instance cannot pass the limit.
   */
  ensureChannel(name: string, maxChannels?: number): Promise<ChannelMeta>;
  /** Appends atomically (all or none), assigning consecutive offsets per channel. */
  append(items: AppendItem[]): Promise<StoredMessage[]>;
  read(channel: string, options: ReadOptions): Promise<ReadResult>;
  /**
   * Starts a new epoch for a channel (created if missing): its messages are dropped and offsets
   * restart at 1. Returns the new metadata. Used when a source's upstream history was replaced.
   */
  resetEpoch(channel: string): Promise<ChannelMeta>;
  /**
   * Latest live message per key (state and entity channels), in offset order. With `limit`, only the
   * `limit` most recently updated keys (SQLite pages in the store; Redis reads the hash, then slices).
   */
  latestByKey(channel: string, limit?: number): Promise<StoredMessage[]>;
  meta(channel: string): ChannelMeta | undefined;
  /** Evicts what the policy no longer keeps. */
  enforceRetention(policyFor: (channel: string) => RetentionPolicy, now: number): Promise<Eviction[]>;
  /** Bytes the store takes (file size for SQLite, memory for Redis), or null when unknown. */
  sizeBytes(): number | null;
  /** Messages appended by other instances (Redis); the SQLite log never calls it. */
  onRemoteAppend?(listener: (messages: StoredMessage[]) => void): void;
  /**
   * The store was lost (`up: false`) or is back (`up: true`), or channels changed other than by an
   * append this instance was told about: created by another instance, a new epoch after Redis lost
   * its data, appends missed while disconnected. `channels` holds their current metadata (Redis only).
   */
  onStoreChange?(listener: (change: StoreChange) => void): void;
  /** Reads a channel's metadata from the store itself, bypassing any cache (Redis only). */
  refreshMeta?(channel: string): Promise<ChannelMeta | undefined>;
  /** Entity expiries whose deadline is at or before `now`, oldest first, at most `limit`. */
  dueExpiries(now: number, limit: number): Promise<DueExpiry[]>;
  /** Store health, for readiness. */
  healthy(): boolean;
  close(): Promise<void>;
}

export function messageItemJson(offset: number, ts: number, data: string, key?: string, deleted?: boolean): string {
  // Built by hand: data is already JSON, and this runs once per accepted message.
  let s = `{"offset":${offset},"ts":${ts}`;
  if (key !== undefined) {
    s += `,"key":${JSON.stringify(key)}`;
  }
  if (deleted) {
    s += ',"deleted":true';
  }
  return `${s},"data":${data}}`;
}

/** A StoredMessage with its serialized item: the one way every log builds them. */
export function storedMessage(channel: string, offset: number, ts: number, data: string, key?: string, deleted?: boolean): StoredMessage {
  return { channel, offset, ts, key, deleted, data, item: messageItemJson(offset, ts, data, key, deleted) };
}

export function newEpoch(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
