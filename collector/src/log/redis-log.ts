/**
 * The event log on Redis Streams, shared by several collector instances (docs/scaling.md).
 *
 * Offsets and epochs are assigned by Lua scripts inside Redis (redis-scripts.ts), so every instance
 * sees the same ones. Each append also PUBLISHes a notice from inside the script; every instance
 * listens on a second connection and hands other instances' messages to the hub, which delivers
 * them like its own. A notice may arrive late or never (a dropped subscriber connection): the hub
 * detects the gap on the next message and reads the log, and a reconnect triggers a resync of
 * every channel's metadata, so subscribers still get every message once and in order.
 *
 * Channels are spread over `store.redis.urls` by a hash of their namespace (first segment, FNV-1a):
 * every channel of a namespace lives on one shard, so a batch within one namespace is atomic on any
 * number of shards. A batch whose namespaces land on different shards is refused (SG_BAD_REQUEST);
 * the built-in sources publish one namespace per batch (docs/scaling.md).
 *
 * Redis trouble: commands fail at once while disconnected (no offline queue) and are never resent
 * on reconnect (a resent append could be applied twice), so a publish is answered 503
 * SG_STORE_UNAVAILABLE instead of being acknowledged and lost. healthy() (readiness) is false until
 * the connection is back and the channels are resynced.
 */
import { randomBytes } from 'node:crypto';
import Redis, { type RedisOptions } from 'ioredis';
import { backoffDelay } from '@streamgauge/client';
import { ErrorCode, channelNamespace } from '@streamgauge/protocol';
import { sgError } from '../errors';
import type { Logger } from '../logger';
import {
  type AppendItem,
  type ChannelMeta,
  type EventLog,
  type Eviction,
  type ReadOptions,
  type ReadResult,
  type RetentionPolicy,
  type StoreChange,
  type StoredMessage,
  storedMessage,
  newEpoch,
  type DueExpiry,
} from './event-log';
import { DEFAULTS } from '../config/defaults';
import { APPEND_LUA, ENSURE_LUA, READ_LUA, RENEW_LUA, RETENTION_LUA } from './redis-scripts';

/** Limits and timings of the Redis log; each has a unit in its name. */
export const REDIS_LOG_DEFAULTS = {
  /** A command without a reply after this long fails: a publish to a hung Redis gets 503, not a wait. */
  commandTimeoutMs: 5_000,
  /** One connection attempt at most; at start, open() gives up after it (the collector exits). */
  connectTimeoutMs: 10_000,
  /** Reconnect backoff cap (full jitter). */
  reconnectMaxDelayMs: 2_000,
  /** Messages of one append travel inside the notice up to this size; larger ones are read back from the stream. */
  notifyInlineMaxBytes: 64 * 1024,
  /** Notices waiting behind a slow range read at most; beyond it they are dropped and the channels resynced. */
  noticeQueueMax: 10_000,
};

export interface RedisLogOptions {
  urls: readonly string[];
  keyPrefix: string;
  logger: Logger;
  /** Identifies this process in notices (so it ignores its own); random by default. */
  instanceId?: string;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Publish ids are remembered for this many newest offsets per channel (store.publishIdWindow). */
  publishIdWindow?: number;
  /** Live keys per state/entity channel at most (channels.maxKeysPerChannel); an append adding one more fails whole with SG_KEY_LIMIT. */
  maxKeysPerChannel?: number;
}

type Reply = (string | number | null | Reply[])[];

interface ScriptedRedis extends Redis {
  sgAppend(...args: (string | number)[]): Promise<Reply>;
  sgEnsure(...args: (string | number)[]): Promise<Reply>;
  sgRead(...args: (string | number)[]): Promise<Reply>;
  sgRetention(...args: (string | number)[]): Promise<Reply>;
  sgRenew(...args: (string | number)[]): Promise<Reply>;
}

interface Shard {
  readonly index: number;
  readonly url: string;
  client: ScriptedRedis;
  sub: Redis;
  /** Connected, subscribed and resynced. */
  up: boolean;
  /** Subscribers were told the store is down (command connection lost) and not yet that it is back. */
  downAnnounced: boolean;
  resyncing: boolean;
  usedMemoryBytes: number | null;
  lastError?: Error;
}

/**
 * The shard of a channel: FNV-1a 32-bit of its namespace (stable across processes and versions,
 * unlike a language's own string hash). By namespace, so that one source's batch (evm/<chain>/…,
 * demo/…) never straddles shards.
 */
export function shardOf(channel: string, shards: number): number {
  if (shards <= 1) {
    return 0;
  }
  const ns = channelNamespace(channel);
  let h = 0x811c9dc5;
  for (let i = 0; i < ns.length; i++) {
    h ^= ns.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

export class RedisLog implements EventLog {
  private readonly shards: Shard[] = [];
  private readonly cache = new Map<string, ChannelMeta>();
  private readonly remoteListeners: ((messages: StoredMessage[]) => void)[] = [];
  private readonly changeListeners: ((change: StoreChange) => void)[] = [];
  private readonly instanceId: string;
  private readonly notifyChannel: string;
  private readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private policyFor?: (channel: string) => RetentionPolicy;
  private opened = false;
  private closing = false;
  private noticeQueue: { shard: Shard; text: string }[] = [];
  private draining = false;

  constructor(private readonly o: RedisLogOptions) {
    if (o.urls.length === 0) {
      throw new Error('store.redis.urls: name at least one Redis URL');
    }
    this.instanceId = o.instanceId ?? randomBytes(6).toString('hex');
    this.notifyChannel = `${o.keyPrefix}notify`;
    this.commandTimeoutMs = o.commandTimeoutMs ?? REDIS_LOG_DEFAULTS.commandTimeoutMs;
    this.connectTimeoutMs = o.connectTimeoutMs ?? REDIS_LOG_DEFAULTS.connectTimeoutMs;
  }

  // ---- keys -----------------------------------------------------------------------------------

  private metaKey(name: string): string {
    return `${this.o.keyPrefix}ch:${name}`;
  }
  private streamKey(name: string): string {
    return `${this.o.keyPrefix}s:${name}`;
  }
  private latestKey(name: string): string {
    return `${this.o.keyPrefix}k:${name}`;
  }
  private idsKey(name: string): string {
    return `${this.o.keyPrefix}d:${name}`;
  }
  private get expiryKey(): string {
    return `${this.o.keyPrefix}expiry`;
  }
  private get setKey(): string {
    return `${this.o.keyPrefix}channels`;
  }

  private shardFor(channel: string): Shard {
    return this.shards[shardOf(channel, this.shards.length)];
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async open(): Promise<ChannelMeta[]> {
    const options: RedisOptions = {
      lazyConnect: true,
      // Fail at once while disconnected, and never resend an append whose reply was lost: the
      // publisher gets 503 instead of an acknowledgement for a message that may not be kept.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.commandTimeoutMs,
      connectTimeout: this.connectTimeoutMs,
      // The repository's one capped full-jitter backoff (@streamgauge/client).
      retryStrategy: (attempt) => backoffDelay(attempt, 50, REDIS_LOG_DEFAULTS.reconnectMaxDelayMs),
    };
    this.o.urls.forEach((url, index) => {
      const client = new Redis(url, options) as ScriptedRedis;
      client.defineCommand('sgAppend', { lua: APPEND_LUA });
      client.defineCommand('sgEnsure', { numberOfKeys: 5, lua: ENSURE_LUA });
      client.defineCommand('sgRead', { numberOfKeys: 1, lua: READ_LUA });
      client.defineCommand('sgRetention', { numberOfKeys: 2, lua: RETENTION_LUA });
      client.defineCommand('sgRenew', { numberOfKeys: 2, lua: RENEW_LUA });
      // The subscriber keeps its subscriptions across reconnects (ioredis autoResubscribe).
      const sub = new Redis(url, { ...options, commandTimeout: undefined });
      const shard: Shard = { index, url, client, sub, up: false, downAnnounced: false, resyncing: false, usedMemoryBytes: null };
      for (const c of [client, sub]) {
        // Connection errors surface as 'close' and as failed commands; without a listener ioredis prints them.
        c.on('error', (err: Error) => {
          shard.lastError = err;
          this.o.logger.debug({ err, shard: index }, 'redis connection error');
        });
      }
      this.shards.push(shard);
    });
    try {
      await Promise.all(
        this.shards.map(async (s) => {
          try {
            await withTimeout(Promise.all([s.client.connect(), s.sub.connect()]), this.connectTimeoutMs, 'no connection');
            await s.sub.subscribe(this.notifyChannel);
          } catch (err) {
            // ioredis reports "Connection is closed"; the 'error' event had the reason (ECONNREFUSED…).
            const why = s.lastError?.message ?? (err as Error).message;
            throw new Error(`cannot reach Redis at ${redactUrl(s.url)} (store.redis.urls): ${why}`, { cause: err });
          }
        }),
      );
    } catch (err) {
      await this.close();
      throw sgError(ErrorCode.StoreUnavailable, (err as Error).message, { cause: err });
    }
    for (const s of this.shards) {
      s.sub.on('message', (_channel: string, text: string) => this.onNotice(s, text));
      for (const c of [s.client, s.sub]) {
        c.on('close', () => this.onShardDown(s, c === s.client));
        c.on('ready', () => this.onShardMaybeUp(s));
      }
    }
    const metas: ChannelMeta[] = [];
    for (const s of this.shards) {
      const names = (await s.client.smembers(this.setKey)) as string[];
      for (const name of names) {
        if (shardOf(name, this.shards.length) === s.index) {
          metas.push((await this.fetchMeta(s, name))!);
        }
      }
      s.up = true;
      await this.refreshMemory(s);
    }
    this.opened = true;
    return metas;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.shards
        .flatMap((s) => [s.client, s.sub])
        .map(async (c) => {
          try {
            if (c.status === 'ready') {
              await c.quit();
            } else {
              c.disconnect();
            }
          } catch {
            c.disconnect();
          }
        }),
    );
  }

  healthy(): boolean {
    return this.opened && !this.closing && this.shards.every((s) => s.up);
  }

  onRemoteAppend(listener: (messages: StoredMessage[]) => void): void {
    this.remoteListeners.push(listener);
  }

  onStoreChange(listener: (change: StoreChange) => void): void {
    this.changeListeners.push(listener);
  }

  private emitChange(change: StoreChange): void {
    for (const l of this.changeListeners) {
      l(change);
    }
  }

  /**
   * A connection dropped. Losing the command connection means the store is down for this instance:
   * subscribers are told. Losing only the notice connection (Redis drops a subscriber whose output
   * buffer overflows) costs only a resync when it is back: publishes and reads still work.
   */
  private onShardDown(s: Shard, commands: boolean): void {
    if (this.closing) {
      return;
    }
    s.up = false;
    if (commands && !s.downAnnounced) {
      s.downAnnounced = true;
      this.o.logger.warn(
        { event: 'store_down', shard: s.index },
        'Redis connection lost: publishes fail with SG_STORE_UNAVAILABLE until it returns',
      );
      this.emitChange({ up: false, channels: [] });
    }
  }

  /** Both connections ready again: make sure the subscription is live, then resync the channels. */
  private onShardMaybeUp(s: Shard): void {
    if (s.up || s.resyncing || this.closing || !this.opened || s.client.status !== 'ready' || s.sub.status !== 'ready') {
      return;
    }
    s.resyncing = true;
    const run = async (): Promise<ChannelMeta[]> => {
      // ioredis resubscribes on reconnect; subscribing again and awaiting the reply orders the
      // resync after it, so no notice falls between the resync and the subscription.
      await s.sub.subscribe(this.notifyChannel);
      return this.resync(s);
    };
    run().then(
      (changed) => {
        s.resyncing = false;
        if (s.client.status !== 'ready' || s.sub.status !== 'ready' || this.closing) {
          return;
        }
        s.up = true;
        s.downAnnounced = false;
        this.o.logger.info({ event: 'store_up', shard: s.index, changed: changed.length }, 'Redis connection back; channels resynced');
        void this.refreshMemory(s);
        this.emitChange({ up: this.healthy(), channels: changed });
      },
      (err: unknown) => {
        s.resyncing = false;
        this.o.logger.warn({ err, shard: s.index }, 'Redis resync failed; retrying');
        setTimeout(() => this.onShardMaybeUp(s), 500).unref();
      },
    );
  }

  /**
   * Reads every channel of a shard from Redis again. A channel this instance knew that Redis no
   * longer holds (Redis restarted without persistence) is created again with a new epoch.
   */
  private async resync(s: Shard): Promise<ChannelMeta[]> {
    const names = new Set((await s.client.smembers(this.setKey)) as string[]);
    for (const name of this.cache.keys()) {
      if (shardOf(name, this.shards.length) === s.index) {
        names.add(name);
      }
    }
    const changed: ChannelMeta[] = [];
    const all = [...names];
    // 100 at a time: ioredis pipelines them on the one connection.
    for (let i = 0; i < all.length; i += 100) {
      await Promise.all(
        all.slice(i, i + 100).map(async (name) => {
          // Taken before the read: Redis' offsets only grow, so the read must be at least this far.
          const before = this.cache.get(name);
          const b = before && { ...before };
          let now = (await this.readMeta(s, name))!;
          if (b && b.epoch === now.epoch && now.lastOffset < b.lastOffset) {
            now = await this.renewEpoch(s, name, now, b.lastOffset);
          } else {
            now = this.mergeMeta(now);
          }
          if (
            !b ||
            b.epoch !== now.epoch ||
            b.lastOffset !== now.lastOffset ||
            b.firstOffset !== now.firstOffset ||
            b.count !== now.count
          ) {
            changed.push(now);
          }
        }),
      );
    }
    return changed;
  }

  /**
   * Redis went back in time for this channel (restored from an older snapshot, failed over to a
   * lagging replica): offsets after `now.lastOffset` were acknowledged once and would be given again
   * to other messages. A new epoch makes every client that saw them resume with recovered:false.
   */
  private async renewEpoch(s: Shard, name: string, now: ChannelMeta, knownLast: number): Promise<ChannelMeta> {
    const r = await s.client.sgRenew(
      this.metaKey(name),
      this.streamKey(name),
      now.epoch,
      newEpoch(),
      this.instanceId,
      this.notifyChannel,
      name,
    );
    const meta = metaFromReply(name, r, 0);
    this.o.logger.warn(
      { event: 'store_went_back', channel: name, lastOffset: now.lastOffset, knownLastOffset: knownLast, epoch: meta.epoch },
      'Redis lost acknowledged messages of this channel: it continues in a new epoch',
    );
    this.cache.set(name, meta);
    return { ...meta };
  }

  /**
   * The channel's metadata as Redis holds it now (created if missing, unless that would pass
   * maxChannels: then undefined), without touching the cache.
   */
  private async readMeta(s: Shard, name: string, maxChannels = 0): Promise<ChannelMeta | undefined> {
    const r = await s.client.sgEnsure(
      this.metaKey(name),
      this.streamKey(name),
      this.setKey,
      this.latestKey(name),
      this.idsKey(name),
      name,
      newEpoch(),
      this.instanceId,
      this.notifyChannel,
      maxChannels,
    );
    return Number(r[5]) < 0 ? undefined : metaFromReply(name, r, 0);
  }

  private async fetchMeta(s: Shard, name: string, maxChannels = 0): Promise<ChannelMeta | undefined> {
    const meta = await this.readMeta(s, name, maxChannels);
    return meta && this.mergeMeta(meta);
  }

  /** Stores what Redis said in the cache, unless a newer notice already moved it further. */
  private mergeMeta(meta: ChannelMeta): ChannelMeta {
    const name = meta.name;
    const prev = this.cache.get(name);
    if (prev && prev.epoch === meta.epoch && prev.lastOffset > meta.lastOffset) {
      // A notice for a newer append overtook this reply (another connection): keep the newer state.
      return { ...prev };
    }
    this.cache.set(name, meta);
    return { ...meta };
  }

  async refreshMeta(channel: string): Promise<ChannelMeta | undefined> {
    if (!this.cache.has(channel)) {
      return undefined;
    }
    const s = this.shardFor(channel);
    return this.call(s, 'refresh', async () => {
      const before = this.cache.get(channel);
      const now = (await this.fetchMeta(s, channel))!;
      if (before && before.epoch !== now.epoch) {
        this.emitChange({ up: this.healthy(), channels: [now] });
      }
      return now;
    });
  }

  // ---- calls ----------------------------------------------------------------------------------

  /** Runs a command on a shard; any failure becomes SG_STORE_UNAVAILABLE (503). */
  private async call<T>(s: Shard, what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closing || s.client.status !== 'ready') {
      throw sgError(
        ErrorCode.StoreUnavailable,
        `event store unavailable: Redis shard ${s.index} is ${this.closing ? 'closing' : s.client.status}`,
      );
    }
    try {
      return await fn();
    } catch (err) {
      // The append script's one refusal (redis-scripts.ts): a client error, not an unavailable store.
      const keyLimit = /SG_KEY_LIMIT (\S+)/.exec((err as Error).message ?? '');
      if (keyLimit) {
        throw sgError(
          ErrorCode.KeyLimit,
          `${keyLimit[1]} holds ${this.o.maxKeysPerChannel} live keys (channels.maxKeysPerChannel): update or delete existing keys`,
        );
      }
      this.o.logger.warn({ err, shard: s.index, op: what }, 'Redis command failed');
      throw sgError(
        ErrorCode.StoreUnavailable,
        `event store unavailable: Redis ${what} failed on shard ${s.index}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async ensureChannel(name: string, maxChannels?: number): Promise<ChannelMeta> {
    const cached = this.cache.get(name);
    if (cached) {
      return { ...cached };
    }
    const s = this.shardFor(name);
    const meta = await this.call(s, 'ensureChannel', () => this.fetchMeta(s, name, maxChannels ?? 0));
    if (!meta) {
      throw sgError(ErrorCode.ChannelLimit, `creating ${name} would exceed channels.maxChannels (${maxChannels})`);
    }
    return { ...meta };
  }

  meta(channel: string): ChannelMeta | undefined {
    const c = this.cache.get(channel);
    return c && { ...c };
  }

  async append(items: AppendItem[]): Promise<StoredMessage[]> {
    if (items.length === 0) {
      return [];
    }
    const s = this.shardFor(items[0].channel);
    const index = new Map<string, number>();
    const names: string[] = [];
    for (const it of items) {
      if (!index.has(it.channel)) {
        if (this.shards.length > 1 && this.shardFor(it.channel) !== s) {
          throw sgError(
            ErrorCode.BadRequest,
            `a publish batch must stay on one Redis shard to be atomic: ${items[0].channel} and ${it.channel} live on different shards (store.redis.urls); publish them separately`,
          );
        }
        index.set(it.channel, names.length + 1);
        names.push(it.channel);
      }
    }
    const keys: string[] = [];
    const perChannel: (string | number)[] = [];
    for (const name of names) {
      keys.push(this.metaKey(name), this.streamKey(name), this.latestKey(name));
      perChannel.push(name, this.policyFor?.(name).maxMessages ?? 0);
    }
    keys.push(this.setKey);
    for (const name of names) {
      keys.push(this.idsKey(name));
    }
    keys.push(this.expiryKey);
    const args: (string | number)[] = [
      keys.length,
      ...keys,
      this.instanceId,
      this.notifyChannel,
      newEpoch(),
      names.length,
      REDIS_LOG_DEFAULTS.notifyInlineMaxBytes,
      this.o.publishIdWindow ?? DEFAULTS.store.publishIdWindow,
      this.o.maxKeysPerChannel ?? 0,
      ...perChannel,
    ];
    for (const it of items) {
      args.push(
        index.get(it.channel)!,
        it.ts,
        it.key ?? '',
        it.deleted ? '1' : '0',
        it.data,
        it.id ?? '',
        it.expiresAt === undefined ? '' : it.expiresAt === null ? '-' : it.expiresAt,
        it.ifExpiresAt ?? '',
      );
    }
    const r = await this.call(s, 'append', () => s.client.sgAppend(...args));
    const changed: ChannelMeta[] = [];
    names.forEach((name, i) => {
      const meta = metaFromReply(name, r, i * 5);
      const before = this.cache.get(name);
      this.cache.set(name, meta);
      if (before && before.epoch !== meta.epoch) {
        changed.push(meta);
      }
    });
    const base = names.length * 5;
    const out: StoredMessage[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      const offset = Number(r[base + 3 * i]);
      const ts = Number(r[base + 3 * i + 1]);
      const flag = Number(r[base + 3 * i + 2]);
      out[i] = storedMessage(it.channel, offset, ts, it.data, it.key, it.deleted);
      if (flag !== 0) {
        out[i].unchanged = flag === 1 ? 'duplicate' : 'stale';
      }
    }
    if (changed.length) {
      // Redis lost the channel and gave it a new epoch: subscribers start over from the new one.
      this.emitChange({ up: this.healthy(), channels: changed });
    }
    return out;
  }

  async dueExpiries(now: number, limit: number): Promise<DueExpiry[]> {
    const out: DueExpiry[] = [];
    for (const s of this.shards) {
      const r = await this.call(s, 'dueExpiries', () =>
        s.client.zrangebyscore(this.expiryKey, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit),
      );
      for (let i = 0; i + 1 < r.length; i += 2) {
        const tab = r[i].indexOf('\t');
        out.push({ channel: r[i].slice(0, tab), key: r[i].slice(tab + 1), at: Number(r[i + 1]) });
      }
    }
    return out.sort((a, b) => a.at - b.at).slice(0, limit);
  }

  async read(channel: string, o: ReadOptions): Promise<ReadResult> {
    const s = this.shardFor(channel);
    const r = await this.call(s, 'read', () =>
      s.client.sgRead(this.streamKey(channel), o.after ?? 0, o.from ?? '', o.to ?? '', o.limit + 1, o.tail ? '1' : '0'),
    );
    const messages = (r as Reply[]).map((e) => fromEntry(channel, e));
    const more = messages.length > o.limit;
    if (more) {
      messages.length = o.limit;
    }
    if (o.tail) {
      messages.reverse();
    }
    return { messages, more };
  }

  async resetEpoch(channel: string): Promise<ChannelMeta> {
    const s = this.shardFor(channel);
    return this.call(s, 'resetEpoch', async () => {
      // With its meta hash gone, ENSURE creates the channel again: a new epoch, the stream and the
      // latest-by-key hash dropped, and the other instances told by an N notice.
      await s.client.del(this.metaKey(channel));
      // maxChannels 0: the channel is created again whatever the shard holds, so meta is defined.
      const meta = (await this.readMeta(s, channel)) as ChannelMeta;
      this.cache.set(channel, meta);
      return { ...meta };
    });
  }

  async latestByKey(channel: string, limit?: number): Promise<StoredMessage[]> {
    const s = this.shardFor(channel);
    const h = await this.call(s, 'latestByKey', () => s.client.hgetall(this.latestKey(channel)));
    const out: StoredMessage[] = [];
    for (const [key, v] of Object.entries(h)) {
      const a = v.indexOf(' ');
      const b = v.indexOf(' ', a + 1);
      const offset = Number(v.slice(0, a));
      const ts = Number(v.slice(a + 1, b));
      const data = v.slice(b + 1);
      out.push(storedMessage(channel, offset, ts, data, key));
    }
    out.sort((x, y) => x.offset - y.offset);
    return limit === undefined ? out : out.slice(Math.max(0, out.length - limit));
  }

  async enforceRetention(policyFor: (channel: string) => RetentionPolicy, now: number): Promise<Eviction[]> {
    this.policyFor = policyFor;
    const evictions: Eviction[] = [];
    if (!this.healthy()) {
      return evictions;
    }
    for (const [name, meta] of this.cache) {
      if (meta.count === 0) {
        continue;
      }
      const p = policyFor(name);
      const s = this.shardFor(name);
      const r = await this.call(s, 'retention', () =>
        s.client.sgRetention(this.metaKey(name), this.streamKey(name), p.maxMessages, now - p.maxAgeSeconds * 1000),
      );
      const evicted = Number(r[0]);
      const first = Number(r[1]);
      const count = Number(r[2]);
      const cur = this.cache.get(name);
      if (cur && (cur.firstOffset !== first || cur.count !== count)) {
        cur.firstOffset = first;
        cur.count = count;
        // Other instances trimmed it too: report it so the registry follows, with 0 evicted here.
        evictions.push({ channel: name, evicted });
      }
    }
    await Promise.all(this.shards.map((s) => this.refreshMemory(s)));
    return evictions;
  }

  private async refreshMemory(s: Shard): Promise<void> {
    try {
      const info = await s.client.info('memory');
      const m = /^used_memory:(\d+)/m.exec(info);
      s.usedMemoryBytes = m ? Number(m[1]) : null;
    } catch {
      // a point-in-time figure: keep the last one
    }
  }

  sizeBytes(): number | null {
    let total = 0;
    for (const s of this.shards) {
      if (s.usedMemoryBytes === null) {
        return null;
      }
      total += s.usedMemoryBytes;
    }
    return total;
  }

  // ---- notices from other instances -----------------------------------------------------------

  private onNotice(shard: Shard, text: string): void {
    if (this.noticeQueue.length >= REDIS_LOG_DEFAULTS.noticeQueueMax) {
      // Far behind: forget the queued notices and read the channels' state instead.
      this.noticeQueue = [];
      this.o.logger.warn({ event: 'notice_queue_full', shard: shard.index }, 'too many pending Redis notices: resyncing');
      shard.up = false;
      this.onShardMaybeUp(shard);
      return;
    }
    this.noticeQueue.push({ shard, text });
    if (!this.draining) {
      void this.drain();
    }
  }

  /** Handles notices strictly in arrival order; only a range read makes it wait. */
  private async drain(): Promise<void> {
    this.draining = true;
    while (this.noticeQueue.length > 0) {
      const n = this.noticeQueue.shift()!;
      try {
        const p = this.handleNotice(n.shard, n.text);
        if (p) {
          await p;
        }
      } catch (err) {
        // A lost notice costs only latency: the next message or the resync fills the gap.
        this.o.logger.warn({ err }, 'Redis notice not handled');
      }
    }
    this.draining = false;
  }

  private handleNotice(shard: Shard, text: string): Promise<void> | undefined {
    const nl = text.indexOf('\n');
    const head = (nl < 0 ? text : text.slice(0, nl)).split('\t');
    const [type, inst, name, epoch] = head;
    if (inst === this.instanceId || shardOf(name, this.shards.length) !== shard.index) {
      return undefined;
    }
    const before = this.cache.get(name);
    if (type === 'N') {
      if (!before || before.epoch !== epoch) {
        const lastOffset = Number(head[6] ?? 0);
        const count = Number(head[5] ?? 0);
        const meta: ChannelMeta = {
          name,
          epoch,
          firstOffset: count === 0 ? lastOffset + 1 : Number(head[4]),
          lastOffset,
          count,
          lastTs: null,
        };
        this.cache.set(name, meta);
        this.emitChange({ up: this.healthy(), channels: [{ ...meta }] });
      }
      return undefined;
    }
    const first = Number(head[4]);
    const count = Number(head[5]);
    const last = Number(head[6]);
    if (before && before.epoch !== epoch) {
      // A new epoch (Redis lost the channel): subscribers restart from the log, not from this notice.
      const meta: ChannelMeta = { name, epoch, firstOffset: first, lastOffset: last, count, lastTs: before.lastTs };
      this.cache.set(name, meta);
      this.emitChange({ up: this.healthy(), channels: [{ ...meta }] });
      return undefined;
    }
    if (type === 'A') {
      const messages: StoredMessage[] = [];
      let pos = nl + 1;
      while (nl >= 0 && pos <= text.length) {
        let end = text.indexOf('\n', pos);
        if (end < 0) {
          end = text.length;
        }
        messages.push(parseNoticeLine(name, text, pos, end));
        pos = end + 1;
      }
      this.applyRemote(name, epoch, first, count, last, messages);
      return undefined;
    }
    if (type === 'R') {
      const from = Number(head[7]);
      return this.readRange(name, from, last).then((messages) => this.applyRemote(name, epoch, first, count, last, messages));
    }
    return undefined;
  }

  private async readRange(name: string, from: number, to: number): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    let after = from - 1;
    while (after < to) {
      const { messages } = await this.read(name, { after, to: undefined, limit: 1_000 });
      const part = messages.filter((m) => m.offset <= to);
      if (part.length === 0) {
        break;
      }
      out.push(...part);
      after = part[part.length - 1].offset;
    }
    return out;
  }

  private applyRemote(name: string, epoch: string, first: number, count: number, last: number, messages: StoredMessage[]): void {
    const cur = this.cache.get(name);
    if (cur && cur.epoch === epoch) {
      if (last > cur.lastOffset) {
        cur.lastOffset = last;
        cur.lastTs = messages.length ? messages[messages.length - 1].ts : cur.lastTs;
      }
      cur.firstOffset = first;
      cur.count = count;
    } else if (!cur) {
      // Known from now on, as Redis holds it with these messages (the log owns channel state).
      this.cache.set(name, {
        name,
        epoch,
        firstOffset: count === 0 ? last + 1 : first,
        lastOffset: last,
        count,
        lastTs: messages.length ? messages[messages.length - 1].ts : null,
      });
    } else {
      return;
    }
    if (messages.length) {
      for (const l of this.remoteListeners) {
        l(messages);
      }
    }
  }
}

function metaFromReply(name: string, r: Reply, at: number): ChannelMeta {
  const lastTs = Number(r[at + 4]);
  const count = Number(r[at + 2]);
  const lastOffset = Number(r[at + 3]);
  return {
    name,
    epoch: String(r[at]),
    firstOffset: count === 0 ? lastOffset + 1 : Number(r[at + 1]),
    lastOffset,
    count,
    lastTs: lastTs > 0 ? lastTs : null,
  };
}

/** One XRANGE entry: [id, [field, value, …]]. */
function fromEntry(channel: string, e: Reply): StoredMessage {
  const id = e[0] as string;
  const offset = Number(id.slice(0, id.indexOf('-')));
  const f = e[1] as unknown as string[];
  let ts = 0;
  let data = '{}';
  let key: string | undefined;
  let deleted: boolean | undefined;
  for (let i = 0; i < f.length; i += 2) {
    switch (f[i]) {
      case 't':
        ts = Number(f[i + 1]);
        break;
      case 'd':
        data = f[i + 1];
        break;
      case 'k':
        key = f[i + 1];
        break;
      case 'x':
        deleted = f[i + 1] === '1' ? true : undefined;
        break;
    }
  }
  return storedMessage(channel, offset, ts, data, key, deleted);
}

/** "offset \t ts \t key-json \t deleted \t data" between start and end of text. */
function parseNoticeLine(channel: string, text: string, start: number, end: number): StoredMessage {
  const t1 = text.indexOf('\t', start);
  const t2 = text.indexOf('\t', t1 + 1);
  const t3 = text.indexOf('\t', t2 + 1);
  const t4 = text.indexOf('\t', t3 + 1);
  const offset = Number(text.slice(start, t1));
  const ts = Number(text.slice(t1 + 1, t2));
  const keyJson = text.slice(t2 + 1, t3);
  const key = keyJson ? (JSON.parse(keyJson) as string) : undefined;
  const deleted = text.slice(t3 + 1, t4) === '1' ? true : undefined;
  const data = text.slice(t4 + 1, end);
  return storedMessage(channel, offset, ts, data, key, deleted);
}

/** Redis URLs may hold a password: keep only host and port in messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'redis';
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no connection within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err);
      },
    );
  });
}
