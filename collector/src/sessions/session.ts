/**
 * One streaming client, whatever carries it (WebSocket, SSE, an in-process reader): its
 * subscriptions, its send-queue policy, its limit, its token's lifetime and its close guard.
 * Transports are thin adapters around it (transport/ws-adapter.ts, transport/sse.ts).
 *
 * Subscriptions (docs/protocol.md, "Patterns"):
 * - A session holds exact subscriptions (by name) and pattern subscriptions; each channel it
 *   receives has one cursor, so a channel both named and matched is delivered once.
 * - Subscribing by name a channel a pattern already delivers: with `since` it resumes that channel
 *   from there (a new `subscribed` and a replay); without, it answers `subscribed` at the current
 *   position. Unsubscribing the name keeps the pattern's delivery, and the other way round.
 * - A pattern is answered by one `pattern` frame listing the channels it matches now (maybe none).
 * - The limit counts channels received, plus one per pattern that matches none: a pattern counts
 *   once per matched channel, channels created later included. A subscribe over the limit is
 *   refused whole (SG_SUBSCRIPTION_LIMIT); a channel created later that would pass it is not added,
 *   and the session gets an SG_SUBSCRIPTION_LIMIT error frame naming it.
 * Close guard: after close() nothing is registered for the session and nothing is written.
 */
import {
  CloseCode,
  ErrorCode,
  type ServerFrame,
  type Since,
  isChannelName,
  isChannelPattern,
  isPattern,
  matchChannel,
} from '@streamgauge/protocol';
import { SgError, sgError } from '../errors';
import type { Channel } from '../channels/channel-registry';
import type { Cursor, CursorTarget, Transport } from '../hub/cursor';
import type { Hub } from '../hub/hub';
import type { Logger } from '../logger';
import type { CoreMetrics } from '../metrics/core-metrics';

/** Why a session ends, in the terms of both transports: a close code (WebSocket) and an error (SSE). */
export interface EndReason {
  closeCode: number;
  errorCode: ErrorCode;
  message: string;
}

/** What a transport adapter provides: where frames go and how the connection ends. */
export interface SessionOutput {
  readonly transport: Transport;
  /** Writes a `messages` frame (already JSON, shared by every session of one flush). */
  messages(frame: string, channel: string, epoch: string, lastOffset: number): void;
  control(frame: ServerFrame): void;
  /** Bytes written but not yet taken by the peer. */
  queuedBytes(): number;
  /** Ends the connection, telling the client why when it can (close code, last error event). */
  end(reason: EndReason | undefined): void;
}

/** Who the session acts for: what it may subscribe to and until when. */
export interface SessionPrincipal {
  canSubscribe(channel: string): boolean;
  /** ms since the Unix epoch; the session ends at this time unless refreshed. */
  readonly expiresAt?: number;
}

export interface SessionOptions {
  hub: Hub;
  metrics: CoreMetrics;
  logger: Logger;
  principal: SessionPrincipal;
  /** Send-queue budget in bytes (ws.maxQueueBytes, sse.maxQueueBytes). */
  maxQueueBytes: number;
  /** Channels received at most (ws.maxSubscriptionsPerConnection). */
  maxSubscriptions: number;
}

interface PatternSub {
  readonly pattern: string;
  readonly id: number | string | undefined;
  /** Channels this pattern matched (and the principal allowed) since it was subscribed. */
  readonly channels: Set<string>;
  unwatch: () => void;
}

export const SLOW_CONSUMER: (setting: string) => EndReason = (setting) => ({
  closeCode: CloseCode.SlowConsumer,
  errorCode: ErrorCode.RateLimited,
  message: `slow consumer: send queue over ${setting}; reconnect and resume`,
});

const TOKEN_EXPIRED: EndReason = { closeCode: CloseCode.Unauthorized, errorCode: ErrorCode.Unauthorized, message: 'token expired' };

export class Session implements CursorTarget {
  readonly transport: Transport;
  readonly maxQueueBytes: number;
  private isClosed = false;
  private principal: SessionPrincipal;
  private expiry?: NodeJS.Timeout;
  private readonly exact = new Map<string, number | string | undefined>();
  private readonly patterns = new Map<string, PatternSub>();
  private readonly cursors = new Map<string, Cursor>();
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly out: SessionOutput,
    private readonly o: SessionOptions,
    /** The config setting named in the slow-consumer message. */
    private readonly queueSetting = 'ws.maxQueueBytes',
  ) {
    this.transport = out.transport;
    this.maxQueueBytes = o.maxQueueBytes;
    this.principal = o.principal;
    o.hub.sessions.add(this);
    this.scheduleExpiry();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Channels received plus patterns matching none (the number the limit applies to). */
  get subscriptionCount(): number {
    let n = this.cursors.size;
    for (const p of this.patterns.values()) {
      if (p.channels.size === 0) {
        n++;
      }
    }
    return n;
  }

  onClose(listener: () => void): void {
    if (this.isClosed) {
      listener();
    } else {
      this.closeListeners.push(listener);
    }
  }

  // ---- subscriptions -------------------------------------------------------------------------

  /**
   * Subscribes to a channel or a pattern. Sends `pattern` (patterns), `subscribed` per channel,
   * the replay, then live messages. Throws SgError for refusals: the adapter answers with an error
   * frame and the session stays open.
   */
  async subscribe(name: string, since: Since | undefined, id?: number | string): Promise<void> {
    if (this.isClosed) {
      return;
    }
    const pattern = isPattern(name);
    if (pattern ? !isChannelPattern(name) : !isChannelName(name)) {
      throw sgError(
        ErrorCode.BadChannelName,
        `${JSON.stringify(name)} is neither a channel name nor a pattern (segments, '*', trailing '**')`,
      );
    }
    if (this.exact.has(name) || this.patterns.has(name)) {
      throw sgError(ErrorCode.AlreadySubscribed, `already subscribed to ${name}`);
    }
    if (pattern) {
      await this.subscribePattern(name, since, id);
    } else {
      await this.subscribeName(name, since, id);
    }
  }

  private limitError(what: string): SgError {
    return sgError(
      ErrorCode.SubscriptionLimit,
      `${what} would pass ${this.o.maxSubscriptions} channels per connection (ws.maxSubscriptionsPerConnection; a pattern counts once per channel it matches)`,
    );
  }

  private async subscribeName(name: string, since: Since | undefined, id: number | string | undefined): Promise<void> {
    if (!this.principal.canSubscribe(name)) {
      throw sgError(ErrorCode.Forbidden, `no subscribe scope for channel ${name}`);
    }
    const c = this.o.hub.registry.get(name);
    if (!c) {
      throw sgError(ErrorCode.UnknownChannel, `unknown channel ${name}: GET /api/v1/channels lists them`);
    }
    const current = this.cursors.get(name);
    if (current) {
      // A pattern delivers it already: take it over by name (resume by name under a pattern).
      this.exact.set(name, id);
      if (since === undefined) {
        this.o.hub.cursors.announce(current, c, id);
        return;
      }
      this.o.hub.cursors.closeCursor(current);
      this.cursors.delete(name);
      await this.openCursor(c, since, id, undefined);
      return;
    }
    if (this.subscriptionCount + 1 > this.o.maxSubscriptions) {
      throw this.limitError(`subscribing ${name}`);
    }
    this.exact.set(name, id);
    try {
      await this.openCursor(c, since, id, undefined);
    } catch (err) {
      if (this.exact.get(name) === id && !this.cursors.has(name)) {
        this.exact.delete(name);
      }
      throw err;
    }
  }

  private async subscribePattern(pattern: string, since: Since | undefined, id: number | string | undefined): Promise<void> {
    if (since && 'epoch' in since) {
      throw sgError(
        ErrorCode.BadRequest,
        'a pattern subscription takes since.time or since.last, not an epoch and offset: resume each channel by name',
      );
    }
    const matched: Channel[] = [];
    for (const c of this.o.hub.registry.all()) {
      if (matchChannel(pattern, c.name) && this.principal.canSubscribe(c.name)) {
        matched.push(c);
      }
    }
    const fresh = matched.filter((c) => !this.cursors.has(c.name));
    if (this.subscriptionCount + Math.max(fresh.length, matched.length === 0 ? 1 : 0) > this.o.maxSubscriptions) {
      throw this.limitError(`${pattern} (${matched.length} channels)`);
    }
    const ps: PatternSub = { pattern, id, channels: new Set(matched.map((c) => c.name)), unwatch: () => undefined };
    this.patterns.set(pattern, ps);
    ps.unwatch = this.o.hub.patterns.watch({ pattern, onChannel: (c) => this.patternChannelAdded(ps, c) });
    this.control({ type: 'pattern', ...(id === undefined ? {} : { id }), pattern, channels: matched.map((c) => c.name) });
    const errors: unknown[] = [];
    await Promise.all(
      fresh.map((c) =>
        this.openCursor(c, since, id, pattern).catch((err: unknown) => {
          ps.channels.delete(c.name);
          errors.push(err);
        }),
      ),
    );
    if (errors.length) {
      throw errors[0];
    }
  }

  /** A channel created after the pattern was subscribed. */
  private patternChannelAdded(ps: PatternSub, c: Channel): void {
    if (this.isClosed || this.patterns.get(ps.pattern) !== ps || !this.principal.canSubscribe(c.name)) {
      return;
    }
    if (this.cursors.has(c.name)) {
      ps.channels.add(c.name);
      return;
    }
    const counted = ps.channels.size === 0 ? 1 : 0;
    if (this.subscriptionCount - counted + 1 > this.o.maxSubscriptions) {
      this.control({
        type: 'error',
        ...(ps.id === undefined ? {} : { id: ps.id }),
        code: ErrorCode.SubscriptionLimit,
        message: `${c.name} matches ${ps.pattern} but is not delivered: ${this.o.maxSubscriptions} channels per connection (ws.maxSubscriptionsPerConnection)`,
        channel: c.name,
      });
      return;
    }
    ps.channels.add(c.name);
    // A new channel is empty (or only just created by this publish): start it at offset 0 so that
    // its first messages reach the pattern's subscriber.
    this.openCursor(c, { epoch: c.epoch, offset: 0 }, ps.id, ps.pattern).catch((err: unknown) => {
      ps.channels.delete(c.name);
      this.o.logger.warn({ err, channel: c.name }, 'pattern subscription could not start a new channel');
    });
  }

  private async openCursor(
    c: Channel,
    since: Since | undefined,
    id: number | string | undefined,
    pattern: string | undefined,
  ): Promise<void> {
    const cursors = this.o.hub.cursors;
    const cur = cursors.openCursor(this, c.name, id, pattern);
    if (cur.closed) {
      return;
    }
    this.cursors.set(c.name, cur);
    try {
      await cursors.start(cur, c, since, (n) => this.o.hub.refresh(n));
    } finally {
      if (cur.closed && this.cursors.get(c.name) === cur) {
        this.cursors.delete(c.name);
      }
    }
  }

  /** Unsubscribes a name or a pattern; a channel another subscription still covers keeps its delivery. */
  unsubscribe(name: string): boolean {
    const ps = this.patterns.get(name);
    if (ps) {
      this.patterns.delete(name);
      ps.unwatch();
      for (const ch of ps.channels) {
        this.releaseIfUnowned(ch);
      }
      return true;
    }
    if (!this.exact.delete(name)) {
      return false;
    }
    this.releaseIfUnowned(name);
    return true;
  }

  private releaseIfUnowned(channel: string): void {
    if (this.exact.has(channel)) {
      return;
    }
    for (const p of this.patterns.values()) {
      if (p.channels.has(channel)) {
        return;
      }
    }
    const cur = this.cursors.get(channel);
    if (cur) {
      this.o.hub.cursors.closeCursor(cur);
      this.cursors.delete(channel);
    }
  }

  /** Positions of every channel received (SSE event ids). */
  positions(): { channel: string; epoch: string; offset: number }[] {
    return [...this.cursors.values()].map((c) => ({ channel: c.channel, epoch: c.epoch, offset: c.position }));
  }

  // ---- principal -----------------------------------------------------------------------------

  /**
   * A refreshed token: the session now acts for it. Channels it no longer allows are dropped (an
   * SG_FORBIDDEN error frame names each), and the session ends when it expires.
   */
  setPrincipal(p: SessionPrincipal): void {
    this.principal = p;
    this.scheduleExpiry();
    for (const channel of [...this.cursors.keys()]) {
      if (!p.canSubscribe(channel)) {
        this.exact.delete(channel);
        for (const ps of this.patterns.values()) {
          ps.channels.delete(channel);
        }
        const cur = this.cursors.get(channel)!;
        this.o.hub.cursors.closeCursor(cur);
        this.cursors.delete(channel);
        this.control({
          type: 'error',
          code: ErrorCode.Forbidden,
          message: `the refreshed token does not allow ${channel}: its subscription ended`,
          channel,
        });
      }
    }
  }

  private scheduleExpiry(): void {
    clearTimeout(this.expiry);
    const at = this.principal.expiresAt;
    if (at === undefined || this.isClosed) {
      return;
    }
    // A timer per session, so the session ends at the token's expiry (not a periodic sweep).
    this.expiry = setTimeout(() => this.close(TOKEN_EXPIRED), Math.max(0, at - Date.now()));
    this.expiry.unref();
  }

  // ---- output --------------------------------------------------------------------------------

  deliver(frame: string, channel: string, epoch: string, lastOffset: number): boolean {
    if (this.isClosed) {
      return false;
    }
    // A timer fires late on a busy event loop: a delivery due after the expiry ends the session instead.
    const at = this.principal.expiresAt;
    if (at !== undefined && Date.now() >= at) {
      this.close(TOKEN_EXPIRED);
      return false;
    }
    this.out.messages(frame, channel, epoch, lastOffset);
    if (this.out.queuedBytes() > this.maxQueueBytes) {
      this.o.metrics.slowDisconnects.inc({ transport: this.transport });
      this.close(SLOW_CONSUMER(this.queueSetting));
      return false;
    }
    return true;
  }

  control(frame: ServerFrame): void {
    if (!this.isClosed) {
      this.out.control(frame);
    }
  }

  queuedBytes(): number {
    return this.out.queuedBytes();
  }

  storeDown(): void {
    // A WebSocket client reconnects with backoff, maybe to an instance that still reaches the
    // store, and resumes; an SSE stream stays, and its delivery resumes when the store is back.
    if (this.out.transport === 'ws') {
      this.close({
        closeCode: CloseCode.StoreUnavailable,
        errorCode: ErrorCode.StoreUnavailable,
        message: 'event store unavailable: reconnect with backoff and resume',
      });
    } else {
      this.control({
        type: 'error',
        code: ErrorCode.StoreUnavailable,
        message: 'event store unavailable: delivery pauses, and resumes without gaps when the store returns',
      });
    }
  }

  fail(err: unknown): void {
    this.o.logger.warn({ err }, 'session failed');
    this.close({ closeCode: 1011, errorCode: ErrorCode.Internal, message: 'internal error: reconnect and resume' });
  }

  /**
   * Ends the session: every cursor and pattern is released and nothing is written afterwards.
   * With a reason the adapter tells the client (close code or error event); without, the peer is
   * already gone. Idempotent.
   */
  close(reason?: EndReason): void {
    if (this.isClosed) {
      return;
    }
    this.isClosed = true;
    clearTimeout(this.expiry);
    for (const cur of this.cursors.values()) {
      this.o.hub.cursors.closeCursor(cur);
    }
    this.cursors.clear();
    for (const ps of this.patterns.values()) {
      ps.unwatch();
    }
    this.patterns.clear();
    this.exact.clear();
    this.o.hub.sessions.delete(this);
    try {
      this.out.end(reason);
    } finally {
      for (const l of this.closeListeners.splice(0)) {
        l();
      }
    }
  }
}
