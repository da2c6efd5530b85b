/**
 * One WebSocket per data-source instance, shared by every panel and query (reference-counted per
 * channel). It resumes each channel from its last offset after a reconnect, detects dead
 * connections with application pings, falls back to REST polling when the socket cannot connect,
 * and returns to the socket when it works again.
 *
 * Contract for a listener: after subscribe(channel, position, handler), handler.onMessages receives
 * every message after `position`, in offset order, each exactly once. Holes (a listener joining a
 * channel that is already live further on, a reconnect, a poll) are filled from REST before newer
 * messages are passed on. When the collector cannot honour a position (recovered: false, a new
 * epoch), handler.onReset refills the listener and delivery continues after what it refilled.
 */
import {
  CloseCode,
  type ErrorFrame,
  type MessageItem,
  type Position,
  type ServerFrame,
  type Since,
  type SubscribedFrame,
} from '@streamgauge/protocol';
import type { CollectorApi, TokenResponse } from '../api/collector-api';
import { backoffDelay } from './backoff';
import { ConnectionState, type StateChange } from './connection-state';

/** The subset of the browser WebSocket API used here; `ws` (Node) implements it too. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketCtor = new (url: string) => WebSocketLike;

export interface ResetInfo {
  channel: string;
  reason: 'epoch_changed' | 'expired' | 'ahead';
  epoch: string;
  firstOffset: number;
  lastOffset: number;
}

export interface ChannelHandler {
  onMessages(items: MessageItem[], epoch: string): void;
  /** The collector's answer to a (re)subscribe: schema and kind may have changed. */
  onSubscribed?(frame: SubscribedFrame): void;
  /**
   * The position was lost. Refill (REST) and resolve with the position refilled up to; delivery
   * continues after it. Without a handler delivery continues from the collector's first offset.
   */
  onReset?(info: ResetInfo): Promise<Position>;
  onError?(err: { code: string; message: string }): void;
}

export const CONNECTION_DEFAULTS = {
  /** First reconnect delay ceiling, ms (full jitter below it). */
  minReconnectDelayMs: 250,
  /** Reconnect delay ceiling, ms. */
  maxReconnectDelayMs: 15_000,
  /** Application ping interval, ms (browsers cannot send protocol pings). */
  heartbeatIntervalMs: 10_000,
  /** A connection with no frame for this long after a ping is dead, ms. */
  heartbeatTimeoutMs: 5_000,
  /** Time for the socket to open and say welcome (and auth_ok), ms. */
  connectTimeoutMs: 10_000,
  /** Consecutive failed WebSocket attempts before polling REST. */
  fallbackAfterFailures: 3,
  /** REST polling interval in fallback mode, ms. */
  pollIntervalMs: 1_000,
  /** While polling, how often WebSocket is tried again, ms. */
  wsRetryIntervalMs: 15_000,
  /** Messages per REST page (catch-up and polling); the collector caps it at limits.historyMaxLimit. */
  pageSize: 1_000,
  /** Messages queued per listener while its hole is filled; beyond it the listener is reset. */
  maxQueuedPerListener: 50_000,
  /** After the last subscription goes, the socket stays open this long (a query edit re-subscribes at once), ms. */
  idleCloseMs: 5_000,
  /** Direct mode: refresh the token when this fraction of its lifetime has passed. */
  tokenRefreshFraction: 0.8,
};

export interface ConnectionManagerOptions extends Partial<typeof CONNECTION_DEFAULTS> {
  wsUrl: string;
  api: CollectorApi;
  WebSocket: WebSocketCtor;
  /** Direct mode: a fresh token for the first `auth` frame and each refresh. */
  getToken?: () => Promise<TokenResponse>;
  random?: () => number;
}

interface Listener {
  handler: ChannelHandler;
  epoch?: string;
  lastOffset: number;
  /** Holes are detected only once the listener has a position (given, or from its first message). */
  anchored: boolean;
  /** Non-null while a hole is being filled or a reset runs: live messages wait here. */
  queue: Array<{ items: MessageItem[]; epoch: string }> | null;
  queued: number;
  closed: boolean;
  /** Consecutive failed REST catch-ups: the next one waits with backoff. */
  catchUpFailures: number;
}

interface ChannelSub {
  name: string;
  listeners: Set<Listener>;
  /** Last position delivered on the wire (or by polling): the resume point. */
  epoch?: string;
  offset?: number;
  /** A subscribe frame was sent on the current socket. */
  sent: boolean;
}

const OPEN = 1;

export class ConnectionManager {
  private readonly o: typeof CONNECTION_DEFAULTS & ConnectionManagerOptions;
  private readonly channels = new Map<string, ChannelSub>();
  private readonly stateListeners = new Set<(c: StateChange) => void>();
  private _state = ConnectionState.Idle;
  private _reason: string | undefined;
  private ws: WebSocketLike | null = null;
  private failures = 0;
  private nextId = 1;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private tokenTimer: ReturnType<typeof setTimeout> | undefined;
  private lastFrameAt = 0;
  private pingSentAt = 0;
  private polling = false;
  private pollRunning = false;
  /** Counters for tests and the query editor's status line. */
  readonly stats = { connects: 0, reconnects: 0, polls: 0, catchUps: 0, resets: 0, framesIn: 0 };

  constructor(options: ConnectionManagerOptions) {
    this.o = { ...CONNECTION_DEFAULTS, ...options };
    if (this.o.heartbeatTimeoutMs >= this.o.heartbeatIntervalMs * 10) {
      throw new RangeError('heartbeatTimeoutMs must be well below heartbeatIntervalMs * 10');
    }
  }

  get state(): ConnectionState {
    return this._state;
  }

  get stateReason(): string | undefined {
    return this._reason;
  }

  /** Listens to state changes; returns the unlisten function. */
  onState(fn: (c: StateChange) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** Channels with at least one listener, and listeners in total. */
  get refCounts(): { channels: number; listeners: number } {
    let listeners = 0;
    for (const c of this.channels.values()) {
      listeners += c.listeners.size;
    }
    return { channels: this.channels.size, listeners };
  }

  get socketOpen(): boolean {
    return this.ws !== null && this.ws.readyState === OPEN;
  }

  // The one setter of the state (centrifuge-js style): every change is emitted with old and new.
  private setState(newState: ConnectionState, reason?: string): void {
    const oldState = this._state;
    this._reason = reason;
    if (oldState === newState) {
      return;
    }
    this._state = newState;
    for (const fn of [...this.stateListeners]) {
      fn({ newState, oldState, reason });
    }
  }

  // ---- subscriptions ---------------------------------------------------------------------------

  /**
   * Delivers every message of `channel` after `from` (or from the next live message when absent) to
   * `handler`. Returns the unsubscribe function; the last unsubscribe of a channel unsubscribes on
   * the wire, the last of all closes the socket after idleCloseMs.
   */
  subscribe(channel: string, from: Position | undefined, handler: ChannelHandler): () => void {
    if (this._state === ConnectionState.Closed) {
      throw new Error('ConnectionManager is disposed');
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const l: Listener = {
      handler,
      epoch: from?.epoch,
      lastOffset: from?.offset ?? 0,
      anchored: from !== undefined,
      queue: null,
      queued: 0,
      closed: false,
      catchUpFailures: 0,
    };
    let sub = this.channels.get(channel);
    if (!sub) {
      sub = { name: channel, listeners: new Set(), sent: false, epoch: from?.epoch, offset: from?.offset };
      this.channels.set(channel, sub);
      sub.listeners.add(l);
      this.sendSubscribe(sub);
    } else {
      sub.listeners.add(l);
      // Joining a channel already delivered further than our position: fill the hole from REST.
      if (from && sub.epoch !== undefined && sub.offset !== undefined) {
        if (sub.epoch !== from.epoch) {
          void this.resetListener(sub, l, {
            channel,
            reason: 'epoch_changed',
            epoch: sub.epoch,
            firstOffset: 0,
            lastOffset: sub.offset,
          });
        } else if (sub.offset > from.offset) {
          void this.catchUp(sub, l, sub.offset);
        }
      }
    }
    this.ensureTransport();
    let done = false;
    return () => {
      if (done) {
        return;
      }
      done = true;
      l.closed = true;
      this.removeListener(channel, l);
    };
  }

  private removeListener(channel: string, l: Listener): void {
    const sub = this.channels.get(channel);
    if (!sub || !sub.listeners.delete(l)) {
      return;
    }
    if (sub.listeners.size === 0) {
      this.channels.delete(channel);
      if (sub.sent && this.socketOpen) {
        this.send({ op: 'unsubscribe', id: this.nextId++, channel });
      }
    }
    if (this.channels.size === 0 && this._state !== ConnectionState.Closed) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.goIdle(), this.o.idleCloseMs);
    }
  }

  private goIdle(): void {
    this.idleTimer = undefined;
    if (this.channels.size > 0) {
      return;
    }
    this.stopPolling();
    this.closeSocket(CloseCode.Normal, 'idle');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.failures = 0;
    this.setState(ConnectionState.Idle);
  }

  // ---- delivery --------------------------------------------------------------------------------

  private deliver(sub: ChannelSub, l: Listener, items: MessageItem[], epoch: string, snapshot = false): void {
    if (l.closed) {
      return;
    }
    if (l.queue) {
      l.queue.push({ items, epoch });
      l.queued += items.length;
      if (l.queued > this.o.maxQueuedPerListener) {
        // The hole takes too long to fill: drop the queue and start over from a refill.
        l.queue = [];
        l.queued = 0;
      }
      return;
    }
    if (!items.length) {
      return;
    }
    if (l.anchored && l.epoch !== undefined && l.epoch !== epoch) {
      const last = items[items.length - 1].offset;
      void this.resetListener(
        sub,
        l,
        { channel: sub.name, reason: 'epoch_changed', epoch, firstOffset: items[0].offset, lastOffset: last },
        [{ items, epoch }]
      );
      return;
    }
    let i = 0;
    while (i < items.length && items[i].offset <= l.lastOffset && l.anchored) {
      i++;
    }
    if (i === items.length) {
      return;
    }
    const fresh = i === 0 ? items : items.slice(i);
    if (l.anchored && !snapshot && fresh[0].offset > l.lastOffset + 1) {
      void this.catchUp(sub, l, fresh[0].offset - 1, [{ items: fresh, epoch }]);
      return;
    }
    l.anchored = true;
    l.epoch = epoch;
    l.lastOffset = fresh[fresh.length - 1].offset;
    l.handler.onMessages(fresh, epoch);
  }

  private flushQueue(sub: ChannelSub, l: Listener): void {
    const queue = l.queue ?? [];
    l.queue = null;
    l.queued = 0;
    for (const q of queue) {
      this.deliver(sub, l, q.items, q.epoch);
      if (l.queue) {
        // A new hole or reset started: the rest waits behind it.
        const rest = queue.slice(queue.indexOf(q) + 1);
        (l.queue as Array<{ items: MessageItem[]; epoch: string }>).push(...rest);
        return;
      }
    }
  }

  /** Reads (l.lastOffset, until] from REST into the listener, then passes on what waited meanwhile. */
  private async catchUp(
    sub: ChannelSub,
    l: Listener,
    until: number,
    pending: Array<{ items: MessageItem[]; epoch: string }> = []
  ): Promise<void> {
    l.queue = [...pending];
    l.queued = pending.reduce((n, p) => n + p.items.length, 0);
    this.stats.catchUps++;
    try {
      let after = l.lastOffset;
      while (!l.closed && after < until) {
        const r = await this.o.api.messages({ channel: sub.name, after, limit: this.o.pageSize });
        if (l.closed) {
          return;
        }
        const first = r.messages[0]?.offset ?? r.lastOffset + 1;
        if (r.epoch !== l.epoch || (after + 1 < r.firstOffset && first > after + 1)) {
          await this.resetListener(
            sub,
            l,
            {
              channel: sub.name,
              reason: r.epoch !== l.epoch ? 'epoch_changed' : 'expired',
              epoch: r.epoch,
              firstOffset: r.firstOffset,
              lastOffset: r.lastOffset,
            },
            l.queue ?? []
          );
          return;
        }
        if (!r.messages.length) {
          break;
        }
        after = r.messages[r.messages.length - 1].offset;
        l.lastOffset = after;
        l.handler.onMessages(r.messages, r.epoch);
        if (!r.more) {
          break;
        }
      }
    } catch (err) {
      // REST is down too (collector restarting): keep what waits and try again with backoff, so
      // the hole is filled once REST is back and no request storm hits a failing proxy meanwhile.
      l.handler.onError?.({
        code: (err as { code?: string }).code ?? 'SG_PLUGIN_NETWORK',
        message: (err as Error).message,
      });
      l.catchUpFailures++;
      const delay = backoffDelay(
        l.catchUpFailures,
        this.o.minReconnectDelayMs,
        this.o.maxReconnectDelayMs,
        this.o.random
      );
      setTimeout(
        () => {
          if (!l.closed && this._state !== ConnectionState.Closed) {
            void this.catchUp(sub, l, until, l.queue ?? []);
          }
        },
        Math.max(delay, this.o.minReconnectDelayMs)
      );
      return;
    }
    l.catchUpFailures = 0;
    if (!l.closed) {
      this.flushQueue(sub, l);
    }
  }

  private async resetListener(
    sub: ChannelSub,
    l: Listener,
    info: ResetInfo,
    pending: Array<{ items: MessageItem[]; epoch: string }> = []
  ): Promise<void> {
    l.queue = [...pending];
    l.queued = pending.reduce((n, p) => n + p.items.length, 0);
    this.stats.resets++;
    let pos: Position = { epoch: info.epoch, offset: Math.max(0, info.firstOffset - 1) };
    try {
      if (l.handler.onReset) {
        pos = await l.handler.onReset(info);
      }
    } catch (err) {
      l.handler.onError?.({
        code: (err as { code?: string }).code ?? 'SG_PLUGIN_NETWORK',
        message: (err as Error).message,
      });
    }
    if (l.closed) {
      return;
    }
    l.epoch = pos.epoch;
    l.lastOffset = pos.offset;
    l.anchored = true;
    // What waited from an older epoch is of no use after the refill.
    l.queue = (l.queue ?? []).filter((q) => q.epoch === pos.epoch);
    this.flushQueue(sub, l);
  }

  private onSubscribed(f: SubscribedFrame): void {
    const sub = this.channels.get(f.channel);
    if (!sub) {
      return;
    }
    const lost = !f.recovered;
    sub.epoch = f.epoch;
    sub.offset = lost ? f.firstOffset - 1 : f.offset;
    for (const l of [...sub.listeners]) {
      l.handler.onSubscribed?.(f);
      if (lost && l.anchored) {
        void this.resetListener(sub, l, {
          channel: f.channel,
          reason: f.reason ?? 'expired',
          epoch: f.epoch,
          firstOffset: f.firstOffset,
          lastOffset: f.lastOffset,
        });
      } else if (!l.anchored) {
        // A live-only listener starts where the collector starts delivering.
        l.anchored = true;
        l.epoch = f.epoch;
        l.lastOffset = sub.offset;
      } else if (l.epoch === f.epoch && l.lastOffset < f.offset && !l.queue) {
        // Our position is older than the wire's resume point (we joined while it was pending).
        void this.catchUp(sub, l, f.offset);
      }
    }
  }

  private onMessagesFrame(channel: string, epoch: string, items: MessageItem[], snapshot?: boolean): void {
    const sub = this.channels.get(channel);
    if (!sub || !items.length) {
      return;
    }
    const last = items[items.length - 1].offset;
    if (sub.epoch !== epoch || sub.offset === undefined || last > sub.offset) {
      sub.epoch = epoch;
      sub.offset = last;
    }
    for (const l of [...sub.listeners]) {
      this.deliver(sub, l, items, epoch, snapshot);
    }
  }

  // ---- transport -------------------------------------------------------------------------------

  private ensureTransport(): void {
    if (this.ws || this.reconnectTimer || this.polling) {
      return;
    }
    this.connect();
  }

  private send(frame: Record<string, unknown>): void {
    if (this.ws && this.ws.readyState === OPEN) {
      this.ws.send(JSON.stringify(frame));
    }
  }

  private sendSubscribe(sub: ChannelSub): void {
    if (!this.socketOpen || this._state !== ConnectionState.Connected) {
      return;
    }
    let since: Since | undefined;
    if (sub.epoch !== undefined && sub.offset !== undefined) {
      since = { epoch: sub.epoch, offset: sub.offset };
    } else {
      // Never delivered on any socket yet: start at the oldest anchored listener's position.
      let min: Listener | undefined;
      for (const l of sub.listeners) {
        if (l.anchored && l.epoch !== undefined && (!min || l.lastOffset < min.lastOffset)) {
          min = l;
        }
      }
      since = min ? { epoch: min.epoch!, offset: min.lastOffset } : undefined;
    }
    sub.sent = true;
    this.send({ op: 'subscribe', id: this.nextId++, channel: sub.name, ...(since ? { since } : {}) });
  }

  private connect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this._state === ConnectionState.Closed || this.channels.size === 0) {
      return;
    }
    if (!this.polling) {
      this.setState(
        this._state === ConnectionState.Idle ? ConnectionState.Connecting : ConnectionState.Reconnecting,
        this._reason
      );
    }
    this.stats.connects++;
    let ws: WebSocketLike;
    try {
      ws = new this.o.WebSocket(this.o.wsUrl);
    } catch (err) {
      this.onSocketGone(`cannot open ${this.o.wsUrl}: ${(err as Error).message}`, false);
      return;
    }
    this.ws = ws;
    let welcomed = false;
    let authed = !this.o.getToken;
    const ready = () => {
      if (!welcomed || !authed || this.ws !== ws) {
        return;
      }
      clearTimeout(this.connectTimer);
      this.failures = 0;
      if (this.polling) {
        this.stopPolling();
      }
      this.setState(ConnectionState.Connected);
      this.startHeartbeat();
      for (const sub of this.channels.values()) {
        sub.sent = false;
        this.sendSubscribe(sub);
      }
    };
    this.connectTimer = setTimeout(() => {
      if (this.ws === ws) {
        this.dropSocket(ws, `no welcome within ${this.o.connectTimeoutMs} ms`, false);
      }
    }, this.o.connectTimeoutMs);
    ws.onopen = () => {
      if (this.o.getToken) {
        this.o.getToken().then(
          (t) => {
            this.send({ op: 'auth', id: 'auth', token: t.token });
          },
          (err: Error) => this.dropSocket(ws, `token request failed: ${err.message}`, false)
        );
      }
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) {
        return;
      }
      this.lastFrameAt = Date.now();
      this.pingSentAt = 0;
      let f: ServerFrame;
      try {
        f = JSON.parse(String(ev.data)) as ServerFrame;
      } catch {
        return;
      }
      this.stats.framesIn++;
      switch (f.type) {
        case 'welcome':
          welcomed = true;
          ready();
          return;
        case 'auth_ok':
          authed = true;
          this.scheduleTokenRefresh(f.expiresAt);
          ready();
          return;
        case 'subscribed':
          this.onSubscribed(f);
          return;
        case 'messages':
          this.onMessagesFrame(f.channel, f.epoch, f.messages, f.snapshot);
          return;
        case 'error':
          this.onErrorFrame(f, ws, authed);
          return;
        default:
          return;
      }
    };
    ws.onerror = () => {
      // The close event follows with the code; nothing to do here.
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) {
        return;
      }
      const reason = `closed with ${ev.code}${ev.reason ? ` ${ev.reason}` : ''}`;
      this.onSocketGone(reason, welcomed && authed);
    };
  }

  private onErrorFrame(f: ErrorFrame, ws: WebSocketLike, authed: boolean): void {
    if (!authed && f.code === 'SG_UNAUTHORIZED') {
      this.dropSocket(ws, `token rejected: ${f.message}`, false);
      return;
    }
    if (f.channel) {
      const sub = this.channels.get(f.channel);
      for (const l of sub?.listeners ?? []) {
        l.handler.onError?.({ code: f.code, message: f.message });
      }
    }
  }

  private scheduleTokenRefresh(expiresAt: number): void {
    clearTimeout(this.tokenTimer);
    if (!this.o.getToken || !expiresAt) {
      return;
    }
    const delay = Math.max(1_000, (expiresAt - Date.now()) * this.o.tokenRefreshFraction);
    this.tokenTimer = setTimeout(() => {
      this.o.getToken!().then(
        (t) => this.send({ op: 'auth', id: 'refresh', token: t.token }),
        () => this.scheduleTokenRefresh(Date.now() + 5_000)
      );
    }, delay);
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.lastFrameAt = Date.now();
    this.pingSentAt = 0;
    const tick = Math.max(50, Math.min(this.o.heartbeatIntervalMs, this.o.heartbeatTimeoutMs) / 2);
    this.heartbeatTimer = setInterval(() => {
      const ws = this.ws;
      if (!ws) {
        return;
      }
      const now = Date.now();
      if (this.pingSentAt && now - this.pingSentAt >= this.o.heartbeatTimeoutMs) {
        this.dropSocket(ws, `no pong within ${this.o.heartbeatTimeoutMs} ms`, true);
        return;
      }
      if (!this.pingSentAt && now - this.lastFrameAt >= this.o.heartbeatIntervalMs) {
        this.pingSentAt = now;
        this.send({ op: 'ping', id: 'hb' });
      }
    }, tick);
  }

  /** Abandons a socket at once (a dead peer may take minutes to report close). */
  private dropSocket(ws: WebSocketLike, reason: string, wasReady: boolean): void {
    if (this.ws !== ws) {
      return;
    }
    ws.onclose = null;
    ws.onmessage = null;
    try {
      // Browsers only have close(), which waits for the peer's close frame; `ws` in Node can cut
      // the TCP connection at once, which is what a dead peer deserves.
      const terminate = (ws as unknown as { terminate?: () => void }).terminate;
      if (terminate) {
        terminate.call(ws);
      } else {
        ws.close(CloseCode.Normal, 'client gave up');
      }
    } catch {
      // already closed
    }
    this.onSocketGone(reason, wasReady);
  }

  private closeSocket(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = null;
    clearTimeout(this.connectTimer);
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.tokenTimer);
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.onopen = null;
      try {
        ws.close(code, reason);
      } catch {
        // already closed
      }
    }
    for (const sub of this.channels.values()) {
      sub.sent = false;
    }
  }

  private onSocketGone(reason: string, wasReady: boolean): void {
    this.ws = null;
    clearTimeout(this.connectTimer);
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.tokenTimer);
    for (const sub of this.channels.values()) {
      sub.sent = false;
    }
    if (this._state === ConnectionState.Closed) {
      return;
    }
    if (this.channels.size === 0) {
      this.setState(ConnectionState.Idle);
      return;
    }
    // A connection that got as far as welcome resets the count: only repeated failures to connect
    // at all (a proxy refusing upgrades) lead to polling.
    this.failures = wasReady ? 1 : this.failures + 1;
    this.stats.reconnects++;
    if (this.polling) {
      this._reason = reason;
      this.reconnectTimer = setTimeout(() => this.connect(), this.o.wsRetryIntervalMs);
      return;
    }
    this.setState(ConnectionState.Reconnecting, reason);
    const delay = backoffDelay(
      this.failures - 1,
      this.o.minReconnectDelayMs,
      this.o.maxReconnectDelayMs,
      this.o.random
    );
    if (this.failures < this.o.fallbackAfterFailures) {
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
      return;
    }
    // Poll only when REST works: a socket that cannot connect while REST answers is a proxy
    // refusing upgrades; when REST fails too the collector is down (restarting) and polling would
    // not help, so keep trying the socket with backoff.
    const probe = Promise.race([
      this.o.api.status().then(
        () => true,
        () => false
      ),
      // A proxy that never answers counts as REST not working.
      new Promise<boolean>((r) => setTimeout(() => r(false), this.o.connectTimeoutMs)),
    ]);
    this.reconnectTimer = setTimeout(() => undefined, delay);
    void probe.then((restWorks) => {
      if (this._state === ConnectionState.Closed || this.channels.size === 0 || this.ws || this.polling) {
        return;
      }
      clearTimeout(this.reconnectTimer);
      if (restWorks) {
        this.startPolling(reason);
        this.reconnectTimer = setTimeout(() => this.connect(), this.o.wsRetryIntervalMs);
      } else {
        this.reconnectTimer = setTimeout(() => this.connect(), delay);
      }
    });
  }

  // ---- polling fallback ------------------------------------------------------------------------

  private startPolling(reason: string): void {
    this.polling = true;
    this.setState(ConnectionState.Polling, reason);
    const loop = () => {
      this.pollTimer = setTimeout(async () => {
        if (!this.polling) {
          return;
        }
        await this.pollOnce();
        if (this.polling) {
          loop();
        }
      }, this.o.pollIntervalMs);
    };
    void this.pollOnce().then(() => this.polling && loop());
  }

  private stopPolling(): void {
    this.polling = false;
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  /** One poll of every channel: what the socket would have delivered since each channel's position. */
  async pollOnce(): Promise<void> {
    if (this.pollRunning) {
      return;
    }
    this.pollRunning = true;
    this.stats.polls++;
    try {
      for (const sub of [...this.channels.values()]) {
        if (!this.polling) {
          return;
        }
        try {
          await this.pollChannel(sub);
        } catch (err) {
          for (const l of sub.listeners) {
            l.handler.onError?.({
              code: (err as { code?: string }).code ?? 'SG_PLUGIN_NETWORK',
              message: (err as Error).message,
            });
          }
        }
      }
    } finally {
      this.pollRunning = false;
    }
  }

  private async pollChannel(sub: ChannelSub): Promise<void> {
    if (sub.epoch === undefined || sub.offset === undefined) {
      let min: Listener | undefined;
      for (const l of sub.listeners) {
        if (l.anchored && l.epoch !== undefined && (!min || l.lastOffset < min.lastOffset)) {
          min = l;
        }
      }
      if (min) {
        sub.epoch = min.epoch;
        sub.offset = min.lastOffset;
      } else {
        // Live-only listeners: start at the channel's end, like a subscribe without since.
        const r = await this.o.api.messages({ channel: sub.name, limit: 1, tail: true });
        sub.epoch = r.epoch;
        sub.offset = r.lastOffset;
        for (const l of sub.listeners) {
          if (!l.anchored) {
            l.anchored = true;
            l.epoch = r.epoch;
            l.lastOffset = r.lastOffset;
          }
        }
        return;
      }
    }
    for (let page = 0; page < 10; page++) {
      const r = await this.o.api.messages({ channel: sub.name, after: sub.offset, limit: this.o.pageSize });
      if (this.channels.get(sub.name) !== sub) {
        return;
      }
      const first = r.messages[0]?.offset;
      const lost =
        r.epoch !== sub.epoch
          ? 'epoch_changed'
          : first !== undefined && first > (sub.offset ?? 0) + 1
            ? 'expired'
            : undefined;
      if (lost) {
        sub.epoch = r.epoch;
        sub.offset = r.lastOffset;
        for (const l of [...sub.listeners]) {
          void this.resetListener(sub, l, {
            channel: sub.name,
            reason: lost,
            epoch: r.epoch,
            firstOffset: r.firstOffset,
            lastOffset: r.lastOffset,
          });
        }
        return;
      }
      if (!r.messages.length) {
        return;
      }
      this.onMessagesFrame(sub.name, r.epoch, r.messages);
      if (!r.more) {
        return;
      }
    }
  }

  /** Closes the socket and every timer; the manager cannot be used afterwards. */
  dispose(): void {
    clearTimeout(this.idleTimer);
    clearTimeout(this.reconnectTimer);
    this.stopPolling();
    this.closeSocket(CloseCode.Normal, 'data source disposed');
    for (const sub of this.channels.values()) {
      for (const l of sub.listeners) {
        l.closed = true;
      }
    }
    this.channels.clear();
    this.setState(ConnectionState.Closed);
  }
}
