/**
 * The Streamgauge protocol client: one WebSocket shared by any number of subscriptions
 * (reference-counted per channel or pattern), used by the Grafana plugin and the SDK alike.
 *
 * - connect, then welcome; with a token (`getToken`), `auth` and its `auth_ok` come before any
 *   `subscribe`, and a refresh (or a token widened to a new channel) never re-sends a subscribe;
 * - every channel resumes from its last delivered position after a reconnect (`since: {epoch,
 *   offset}`), holes are filled from REST, `recovered: false` goes to the listener's onReset;
 * - dead connections are found by application pings; reconnects use the repository's one capped
 *   full-jitter backoff; when the socket keeps failing while REST works (a proxy refusing
 *   upgrades) REST polling carries the subscriptions and the socket is retried;
 * - one state with one setter that emits `{newState, oldState, reason}`;
 * - the WebSocket, REST reads, token source and clock are injected.
 */
import {
  CloseCode,
  ErrorCode,
  type ClientFrame,
  type ErrorFrame,
  type ServerFrame,
  type Since,
  type SubscribedFrame,
  matchChannel,
} from '@streamgauge/protocol';
import { backoffDelay } from './backoff';
import { type ChannelHandler, ChannelSubscription, type Listener, newListener } from './channel-subscription';
import { type Clock, type TimerHandle, systemClock } from './clock';
import { CLIENT_DEFAULTS, type ClientDefaults } from './defaults';
import { type PatternListener, PatternSubscription, newPatternListener } from './pattern-subscription';
import { ConnectionState, type StateChange } from './state';
import type { GetToken, RestReader, WebSocketCtor, WebSocketLike } from './transport';

export interface ClientOptions extends Partial<ClientDefaults> {
  /** ws:// or wss:// URL of the collector's socket (directly, or through Grafana's proxy). */
  wsUrl: string;
  WebSocket: WebSocketCtor;
  /** Passed as the constructor's third argument (Node `ws`: `{ headers: { authorization } }`). */
  socketOptions?: unknown;
  /** REST reads for hole filling and polling. Without it: no hole filling, no polling fallback. */
  rest?: RestReader;
  /** A token for the `auth` frame, asked for on each connect, before expiry, and for new channels. */
  getToken?: GetToken;
  clock?: Clock;
  random?: () => number;
}

const OPEN = 1;

/** Close codes after which trying again at once would meet the same refusal: the backoff keeps growing. */
const PENALTY_CODES = new Set<number>([
  CloseCode.Unauthorized,
  CloseCode.RateLimited,
  CloseCode.TooManyConnections,
  CloseCode.MessageTooBig,
]);

const isPattern = (name: string) => name.includes('*');

type Sub = ChannelSubscription | PatternSubscription;

export class ProtocolClient {
  private readonly o: ClientDefaults & ClientOptions;
  private readonly clock: Clock;
  private readonly subs = new Map<string, Sub>();
  private readonly stateListeners = new Set<(c: StateChange) => void>();
  private _state: ConnectionState = ConnectionState.Idle;
  private _reason: string | undefined;
  private ws: WebSocketLike | null = null;
  private failures = 0;
  /** Consecutive closes with a refusal code (PENALTY_CODES): each one backs off further. */
  private penalties = 0;
  /** REST answered just before the current attempt (polling needs a socket failing while REST works). */
  private restWorkedBeforeAttempt = false;
  private nextId = 1;
  private timers: Record<'reconnect' | 'connect' | 'heartbeat' | 'poll' | 'idle' | 'token', TimerHandle | undefined> = {
    reconnect: undefined,
    connect: undefined,
    heartbeat: undefined,
    poll: undefined,
    idle: undefined,
    token: undefined,
  };
  private lastFrameAt = 0;
  private pingSentAt = 0;
  private polling = false;
  private pollRunning = false;
  /** Channels the acknowledged token was asked for (null: no token yet, or no getToken). */
  private tokenChannels: Set<string> | null = null;
  /** Channels asked for per pending auth id. */
  private readonly authRequests = new Map<string, string[]>();
  private authSeq = 0;
  /** Counters for tests and status lines. */
  readonly stats = { connects: 0, reconnects: 0, polls: 0, catchUps: 0, resets: 0, framesIn: 0, subscribesSent: 0, authsSent: 0 };

  constructor(options: ClientOptions) {
    this.o = { ...CLIENT_DEFAULTS, ...options };
    this.clock = options.clock ?? systemClock;
    if (this.o.heartbeatTimeoutMs >= this.o.heartbeatIntervalMs * 10) {
      throw new RangeError('heartbeatTimeoutMs must be well below heartbeatIntervalMs * 10');
    }
    if (this.o.minReconnectDelayMs > this.o.maxReconnectDelayMs) {
      throw new RangeError(
        `minReconnectDelayMs (${this.o.minReconnectDelayMs}) must be <= maxReconnectDelayMs (${this.o.maxReconnectDelayMs})`,
      );
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

  /** Channels (and patterns) with at least one listener, and listeners in total. */
  get refCounts(): { channels: number; listeners: number } {
    let listeners = 0;
    for (const s of this.subs.values()) {
      listeners += s.listeners.size;
    }
    return { channels: this.subs.size, listeners };
  }

  get socketOpen(): boolean {
    return this.ws !== null && this.ws.readyState === OPEN;
  }

  // The one setter of the state (centrifuge-js): every change is emitted with old and new.
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

  private alive = () => this._state !== ConnectionState.Closed;

  private timer(name: keyof ProtocolClient['timers'], fn: (() => void) | undefined, ms = 0): void {
    if (this.timers[name] !== undefined) {
      this.clock.clearTimeout(this.timers[name]);
    }
    this.timers[name] = fn
      ? this.clock.setTimeout(() => {
          this.timers[name] = undefined;
          fn();
        }, ms)
      : undefined;
  }

  // ---- subscriptions ---------------------------------------------------------------------------

  /**
   * Delivers every message of `channel` (a name or a pattern) after `from` to `handler`: `from` is
   * a position `{epoch, offset}` (exactly the messages after it), `{last}` or `{time}`, or absent
   * (live, after the snapshot of a state/entity channel). Returns the unsubscribe function; the
   * last unsubscribe of a channel unsubscribes on the wire, the last of all closes the socket
   * after idleCloseMs.
   */
  subscribe(channel: string, from: Since | undefined, handler: ChannelHandler): () => void {
    if (this._state === ConnectionState.Closed) {
      throw new Error('the client is closed');
    }
    this.timer('idle', undefined);
    let sub = this.subs.get(channel);
    let l: Listener | PatternListener;
    if (isPattern(channel)) {
      const ps = (sub as PatternSubscription | undefined) ?? new PatternSubscription(channel);
      l = newPatternListener(handler, from);
      ps.listeners.add(l);
      sub = ps;
    } else {
      const cs =
        (sub as ChannelSubscription | undefined) ??
        new ChannelSubscription(channel, {
          rest: this.o.rest,
          clock: this.clock,
          random: this.o.random,
          o: this.o,
          alive: this.alive,
          stats: this.stats,
        });
      l = newListener(handler, from);
      cs.add(l);
      sub = cs;
    }
    if (!this.subs.has(channel)) {
      this.subs.set(channel, sub);
      this.sendSubscribe(sub);
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

  private removeListener(channel: string, l: Listener | PatternListener): void {
    const sub = this.subs.get(channel);
    if (!sub || !(sub.listeners as Set<unknown>).delete(l)) {
      return;
    }
    if (sub.listeners.size === 0) {
      this.subs.delete(channel);
      if (sub.sent && this.socketOpen) {
        this.send({ op: 'unsubscribe', id: this.nextId++, channel });
      }
    }
    if (this.subs.size === 0 && this._state !== ConnectionState.Closed) {
      this.timer('idle', () => this.goIdle(), this.o.idleCloseMs);
    }
  }

  private goIdle(): void {
    if (this.subs.size > 0) {
      return;
    }
    this.stopPolling();
    this.closeSocket(CloseCode.Normal, 'idle');
    this.timer('reconnect', undefined);
    this.failures = 0;
    this.setState(ConnectionState.Idle);
  }

  private routeSubscribed(f: SubscribedFrame): void {
    const exact = this.subs.get(f.channel);
    if (exact instanceof ChannelSubscription) {
      exact.onSubscribed(f);
    }
    for (const s of this.patternsFor(f.channel)) {
      s.onSubscribed(f);
    }
  }

  private *patternsFor(channel: string): Iterable<PatternSubscription> {
    for (const s of this.subs.values()) {
      if (s instanceof PatternSubscription && matchChannel(s.name, channel)) {
        yield s;
      }
    }
  }

  private routeMessages(channel: string, epoch: string, items: ServerMessages, snapshot: boolean): void {
    const exact = this.subs.get(channel);
    if (exact instanceof ChannelSubscription) {
      exact.onMessages(epoch, items, snapshot);
    }
    for (const s of this.patternsFor(channel)) {
      s.onMessages(channel, epoch, items, snapshot);
    }
  }

  // ---- transport -------------------------------------------------------------------------------

  private ensureTransport(): void {
    if (this.ws || this.timers.reconnect !== undefined || this.polling) {
      return;
    }
    this.connect();
  }

  private send(frame: ClientFrame | Record<string, unknown>): void {
    if (this.ws && this.ws.readyState === OPEN) {
      this.ws.send(JSON.stringify(frame));
    }
  }

  private covered(name: string): boolean {
    return !this.o.getToken || (this.tokenChannels?.has(name) ?? false);
  }

  /** Sends a subscribe when the connection is ready and its token covers the channel; else asks for one. */
  private sendSubscribe(sub: Sub): void {
    if (!this.socketOpen || this._state !== ConnectionState.Connected || sub.sent) {
      return;
    }
    if (!this.covered(sub.name)) {
      this.authenticate('refresh');
      return;
    }
    const since = sub.since();
    sub.sent = true;
    this.stats.subscribesSent++;
    this.send({ op: 'subscribe', id: this.nextId++, channel: sub.name, ...(since ? { since } : {}) });
  }

  /** Fetches a token for every channel subscribed now and sends it; subscribes wait for auth_ok. */
  private authenticate(kind: 'auth' | 'refresh'): void {
    const getToken = this.o.getToken;
    const ws = this.ws;
    if (!getToken || !ws) {
      return;
    }
    const channels = [...this.subs.keys()].sort();
    // A refresh already on its way for the same channels does the job.
    for (const asked of this.authRequests.values()) {
      if (channels.every((c) => asked.includes(c))) {
        return;
      }
    }
    const id = `${kind}-${++this.authSeq}`;
    this.authRequests.set(id, channels);
    getToken(channels).then(
      (t) => {
        if (this.ws !== ws) {
          return;
        }
        this.stats.authsSent++;
        this.send({ op: 'auth', id, token: t.token });
      },
      (err: Error) => {
        this.authRequests.delete(id);
        if (kind === 'auth') {
          this.dropSocket(ws, `token request failed: ${err.message}`, false);
        } else {
          this.timer('token', () => this.authenticate('refresh'), Math.max(this.o.minReconnectDelayMs, 5_000));
        }
      },
    );
  }

  private connect(): void {
    this.timer('reconnect', undefined);
    if (this._state === ConnectionState.Closed || this.subs.size === 0) {
      return;
    }
    if (!this.polling) {
      this.setState(this._state === ConnectionState.Idle ? ConnectionState.Connecting : ConnectionState.Reconnecting, this._reason);
    }
    this.stats.connects++;
    this.tokenChannels = null;
    this.authRequests.clear();
    let ws: WebSocketLike;
    try {
      ws =
        this.o.socketOptions === undefined
          ? new this.o.WebSocket(this.o.wsUrl)
          : new this.o.WebSocket(this.o.wsUrl, undefined, this.o.socketOptions);
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
      this.timer('connect', undefined);
      this.failures = 0;
      this.restWorkedBeforeAttempt = false;
      if (this.polling) {
        this.stopPolling();
      }
      this.setState(ConnectionState.Connected);
      this.startHeartbeat();
      for (const sub of this.subs.values()) {
        sub.sent = false;
        this.sendSubscribe(sub);
      }
    };
    this.timer(
      'connect',
      () => {
        if (this.ws === ws) {
          this.dropSocket(ws, `no welcome within ${this.o.connectTimeoutMs} ms`, false);
        }
      },
      this.o.connectTimeoutMs,
    );
    ws.onopen = () => this.authenticate('auth');
    ws.onmessage = (ev) => {
      if (this.ws !== ws) {
        return;
      }
      this.lastFrameAt = this.clock.now();
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
        case 'auth_ok': {
          const id = String(f.id ?? '');
          this.tokenChannels = new Set(this.authRequests.get(id) ?? []);
          this.authRequests.delete(id);
          this.scheduleTokenRefresh(f.expiresAt);
          if (!authed) {
            authed = true;
            ready();
          } else {
            // A refresh or a wider token: only what has not been subscribed yet goes out.
            for (const sub of this.subs.values()) {
              this.sendSubscribe(sub);
            }
          }
          return;
        }
        case 'subscribed':
          this.routeSubscribed(f);
          return;
        case 'messages':
          this.routeMessages(f.channel, f.epoch, f.messages, f.snapshot === true);
          return;
        case 'error':
          this.onErrorFrame(f, ws, authed);
          return;
        default:
          return;
      }
    };
    ws.onerror = () => {
      // The close event follows with the code.
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) {
        return;
      }
      this.onSocketGone(`closed with ${ev.code}${ev.reason ? ` ${ev.reason}` : ''}`, welcomed && authed, ev.code);
    };
  }

  private onErrorFrame(f: ErrorFrame, ws: WebSocketLike, authed: boolean): void {
    const id = f.id === undefined ? '' : String(f.id);
    if (this.authRequests.has(id)) {
      this.authRequests.delete(id);
      if (!authed) {
        this.dropSocket(ws, `token rejected: ${f.code}: ${f.message}`, false);
      } else {
        // The connection keeps its current token until expiry: try again a little later.
        this.timer('token', () => this.authenticate('refresh'), Math.max(this.o.minReconnectDelayMs, 5_000));
      }
      return;
    }
    if (f.channel) {
      const sub = this.subs.get(f.channel);
      if (sub && f.code !== ErrorCode.AlreadySubscribed) {
        // Refused: the next ready() (or a wider token) may try again.
        sub.sent = false;
      }
      sub?.errorAll({ code: f.code, message: f.message });
    }
  }

  private scheduleTokenRefresh(expiresAt: number): void {
    if (!this.o.getToken || !expiresAt) {
      return;
    }
    const delay = Math.max(1_000, (expiresAt - this.clock.now()) * this.o.tokenRefreshFraction);
    this.timer('token', () => this.authenticate('refresh'), delay);
  }

  private startHeartbeat(): void {
    this.lastFrameAt = this.clock.now();
    this.pingSentAt = 0;
    const tick = Math.max(50, Math.min(this.o.heartbeatIntervalMs, this.o.heartbeatTimeoutMs) / 2);
    const beat = () => {
      const ws = this.ws;
      if (!ws) {
        return;
      }
      const now = this.clock.now();
      if (this.pingSentAt && now - this.pingSentAt >= this.o.heartbeatTimeoutMs) {
        this.dropSocket(ws, `no pong within ${this.o.heartbeatTimeoutMs} ms`, true);
        return;
      }
      if (!this.pingSentAt && now - this.lastFrameAt >= this.o.heartbeatIntervalMs) {
        this.pingSentAt = now;
        this.send({ op: 'ping', id: 'hb' });
      }
      this.timer('heartbeat', beat, tick);
    };
    this.timer('heartbeat', beat, tick);
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
      const terminate = (ws as { terminate?: () => void }).terminate;
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

  private stopSocketTimers(): void {
    this.timer('connect', undefined);
    this.timer('heartbeat', undefined);
    this.timer('token', undefined);
    for (const sub of this.subs.values()) {
      sub.sent = false;
    }
  }

  private closeSocket(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = null;
    this.stopSocketTimers();
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
  }

  private onSocketGone(reason: string, wasReady: boolean, code?: number): void {
    this.ws = null;
    this.stopSocketTimers();
    if (this._state === ConnectionState.Closed) {
      return;
    }
    if (this.subs.size === 0) {
      this.setState(ConnectionState.Idle);
      return;
    }
    if (code === CloseCode.Unauthorized && !this.o.getToken) {
      // Fixed credentials (an API key header) would be refused again: final (docs/sdk.md).
      this.close(`the collector rejected the credentials (${reason})`);
      return;
    }
    // A connection that got as far as welcome resets the count (only repeated failures to connect
    // at all lead to polling), unless the collector refused us in a way that would repeat.
    const penalty = code !== undefined && PENALTY_CODES.has(code);
    this.penalties = penalty ? this.penalties + 1 : 0;
    this.failures = wasReady && !penalty ? 1 : Math.max(this.failures + 1, this.penalties + 1);
    this.stats.reconnects++;
    if (this.polling) {
      this._reason = reason;
      this.timer('reconnect', () => this.connect(), this.o.wsRetryIntervalMs);
      return;
    }
    this.setState(ConnectionState.Reconnecting, reason);
    const delay = backoffDelay(this.failures - 1, this.o.minReconnectDelayMs, this.o.maxReconnectDelayMs, this.o.random);
    const rest = this.o.rest;
    if (!rest || this.failures < this.o.fallbackAfterFailures) {
      this.timer('reconnect', () => this.connect(), delay);
      return;
    }
    // Poll only when REST works: a socket that cannot connect while REST answers is a proxy
    // refusing upgrades; when REST fails too the collector is down (restarting) and polling would
    // not help, so keep trying the socket with backoff.
    let settled = false;
    const decide = (restWorks: boolean) => {
      if (settled) {
        return;
      }
      settled = true;
      if (this._state === ConnectionState.Closed || this.subs.size === 0 || this.ws || this.polling) {
        return;
      }
      if (restWorks && this.restWorkedBeforeAttempt) {
        this.startPolling(reason);
        this.timer('reconnect', () => this.connect(), this.o.wsRetryIntervalMs);
      } else if (restWorks) {
        // REST works now, but the failed attempts may date from a collector restart: only a
        // socket that fails while REST works shows a proxy refusing upgrades. Try once more now.
        this.restWorkedBeforeAttempt = true;
        this.timer('reconnect', () => this.connect(), 0);
      } else {
        this.restWorkedBeforeAttempt = false;
        this.timer('reconnect', () => this.connect(), delay);
      }
    };
    // A placeholder so ensureTransport does not connect while the probe runs; a proxy that never
    // answers counts as REST not working.
    this.timer('reconnect', () => decide(false), this.o.connectTimeoutMs);
    rest.status().then(
      () => decide(true),
      () => decide(false),
    );
  }

  // ---- polling fallback ------------------------------------------------------------------------

  private startPolling(reason: string): void {
    this.polling = true;
    this.setState(ConnectionState.Polling, reason);
    const loop = () => {
      this.timer(
        'poll',
        () => {
          if (this.polling) {
            void this.pollOnce().then(() => this.polling && loop());
          }
        },
        this.o.pollIntervalMs,
      );
    };
    void this.pollOnce().then(() => this.polling && loop());
  }

  private stopPolling(): void {
    this.polling = false;
    this.timer('poll', undefined);
  }

  /** One poll of every exact channel: what the socket would have delivered since each one's position. */
  async pollOnce(): Promise<void> {
    if (this.pollRunning || !this.o.rest) {
      return;
    }
    this.pollRunning = true;
    this.stats.polls++;
    try {
      for (const sub of [...this.subs.values()]) {
        if (!this.polling) {
          return;
        }
        if (!(sub instanceof ChannelSubscription) || this.subs.get(sub.name) !== sub) {
          continue;
        }
        try {
          await sub.poll();
        } catch (err) {
          sub.errorAll({ code: (err as { code?: string }).code ?? 'SG_CLIENT_NETWORK', message: (err as Error).message });
        }
      }
    } finally {
      this.pollRunning = false;
    }
  }

  /** Closes the socket and every timer; the client cannot be used afterwards. */
  close(reason?: string): void {
    this.timer('idle', undefined);
    this.timer('reconnect', undefined);
    this.stopPolling();
    this.closeSocket(CloseCode.Normal, 'client closed');
    for (const sub of this.subs.values()) {
      for (const l of sub.listeners) {
        l.closed = true;
      }
    }
    this.subs.clear();
    this.setState(ConnectionState.Closed, reason);
  }
}

type ServerMessages = Extract<ServerFrame, { type: 'messages' }>['messages'];
