/**
 * One WebSocket client: parses its frames, runs its subscriptions through the hub, bounds its send
 * queue and answers heartbeats. A bad frame gets an error frame and the connection stays open;
 * only an oversized frame (1009, closed by ws), a slow reader (4008), a dead peer (4009) or an
 * expired token (4401) close it.
 */
import type { WebSocket } from 'ws';
import { CloseCode, ErrorCode, type ServerFrame, type Since } from '@streamgauge/protocol';
import { SgError, sgError } from '../errors';
import type { Authenticator, Principal } from '../auth/principal';
import type { Hub } from '../hub/hub';
import { nextSinkId, type Sink } from '../hub/sink';
import type { CoreMetrics } from '../metrics/core-metrics';
import type { Logger } from '../logger';
import type { FrameLimiter } from '../limits/connection-guard';

export interface WsSessionOptions {
  hub: Hub;
  metrics: CoreMetrics;
  auth: Authenticator;
  principal: Principal;
  maxQueueBytes: number;
  logger: Logger;
  /** Frames per second for this connection (auth.limits.wsMessagesPerSecond); absent: no limit. */
  frameLimiter?: FrameLimiter;
  /** When the principal is UNAUTHENTICATED: ms to send an `auth` frame before close 4401. */
  authTimeoutMs?: number;
}

/** The last messages frame encoded, shared by every session (see sendMessages). */
let lastFrame = '';
let lastFrameBuffer = Buffer.alloc(0);

export class WsSession implements Sink {
  readonly id = nextSinkId();
  readonly transport = 'ws' as const;
  readonly maxQueueBytes: number;
  closed = false;
  private principal: Principal;
  private awaitingPongSince = 0;
  private lastPingAt = Date.now();
  private readonly closeListeners: (() => void)[] = [];
  private authTimer?: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly o: WsSessionOptions,
  ) {
    this.maxQueueBytes = o.maxQueueBytes;
    this.principal = o.principal;
    if (this.principal.via === 'none') {
      // Admitted without credentials (browsers cannot set headers on a WebSocket): it has
      // auth.limits.authTimeoutMs to send an `auth` frame, and may do nothing else meanwhile.
      this.authTimer = setTimeout(
        () => this.close(CloseCode.Unauthorized, 'authentication timeout: send {"op":"auth","token"} first'),
        o.authTimeoutMs ?? 10_000,
      );
      this.authTimer.unref();
    }
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('pong', () => {
      this.awaitingPongSince = 0;
    });
    ws.on('error', () => {
      // ws emits 'close' after 'error' (e.g. 1009 on an oversized frame); nothing else to do here.
    });
    ws.on('close', () => {
      this.closed = true;
      for (const l of this.closeListeners) {
        l();
      }
    });
  }

  onClosed(listener: () => void): void {
    if (this.ws.readyState === this.ws.CLOSED) {
      listener();
    } else {
      this.closeListeners.push(listener);
    }
  }

  dispose(): void {
    this.closed = true;
    clearTimeout(this.authTimer);
    this.o.hub.removeSink(this);
  }

  queuedBytes(): number {
    return this.ws.bufferedAmount;
  }

  sendMessages(frame: string): boolean {
    if (this.closed) {
      return false;
    }
    // The hub hands the same frame string to every subscriber of a channel in one flush; encode it
    // to UTF-8 once, not once per client (measured: fan-out ceiling 12M -> 20M deliveries/s, BENCHMARKS.md).
    if (frame !== lastFrame) {
      lastFrame = frame;
      lastFrameBuffer = Buffer.from(frame);
    }
    this.ws.send(lastFrameBuffer, { binary: false });
    if (this.ws.bufferedAmount > this.maxQueueBytes) {
      this.o.metrics.slowDisconnects.inc({ transport: 'ws' });
      this.close(CloseCode.SlowConsumer, 'slow consumer: send queue over ws.maxQueueBytes; reconnect and resume');
      return false;
    }
    return true;
  }

  sendFrame(frame: ServerFrame): void {
    if (!this.closed) {
      this.ws.send(JSON.stringify(frame));
    }
  }

  close(code: number, reason: string): void {
    if (this.closed && code !== CloseCode.GoingAway) {
      return;
    }
    this.closed = true;
    this.o.hub.removeSink(this);
    this.ws.close(code, reason.slice(0, 120));
    // A peer that does not answer the close handshake is cut after a grace period.
    setTimeout(() => this.ws.terminate(), 2_000).unref();
  }

  terminate(): void {
    this.ws.terminate();
  }

  heartbeat(now: number, intervalMs: number, timeoutMs: number): void {
    if (this.closed) {
      return;
    }
    if (this.awaitingPongSince && now - this.awaitingPongSince >= timeoutMs) {
      this.o.logger.debug({ event: 'ws_heartbeat_timeout', client: this.id }, 'no pong: closing');
      this.closed = true;
      this.o.hub.removeSink(this);
      this.ws.close(CloseCode.HeartbeatTimeout, 'heartbeat timeout');
      setTimeout(() => this.ws.terminate(), 1_000).unref();
      return;
    }
    if (!this.awaitingPongSince && now - this.lastPingAt >= intervalMs) {
      this.lastPingAt = now;
      this.awaitingPongSince = now;
      this.ws.ping();
    }
    if (this.principal.expiresAt !== undefined && now >= this.principal.expiresAt) {
      this.close(CloseCode.Unauthorized, 'token expired');
    }
  }

  private error(code: ErrorCode, message: string, id?: number | string, channel?: string): void {
    this.o.metrics.wsErrors.inc({ code });
    this.sendFrame({ type: 'error', ...(id === undefined ? {} : { id }), code, message, ...(channel ? { channel } : {}) });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) {
      return;
    }
    const rate = this.o.frameLimiter?.take() ?? 'accept';
    if (rate !== 'accept') {
      if (rate === 'close') {
        this.close(CloseCode.RateLimited, 'rate limited: too many frames (auth.limits.wsMessagesPerSecond)');
      } else if (rate === 'refuse') {
        this.error(ErrorCode.RateLimited, 'rate limited: frames are dropped until the rate falls under auth.limits.wsMessagesPerSecond');
      }
      return;
    }
    if (isBinary) {
      this.error(ErrorCode.BadRequest, 'frames are JSON text, not binary');
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString('utf8'));
    } catch (err) {
      this.error(ErrorCode.BadJson, `frame is not valid JSON: ${(err as Error).message}`);
      return;
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      this.error(ErrorCode.BadRequest, 'a frame is a JSON object with an "op"');
      return;
    }
    const f = frame as Record<string, unknown>;
    const id = typeof f.id === 'number' || typeof f.id === 'string' ? f.id : undefined;
    switch (f.op) {
      case 'subscribe':
        this.subscribe(f, id);
        return;
      case 'unsubscribe':
        if (typeof f.channel !== 'string') {
          this.error(ErrorCode.BadRequest, 'unsubscribe needs "channel" (string)', id);
        } else if (this.o.hub.unsubscribe(this, f.channel)) {
          this.sendFrame({ type: 'unsubscribed', ...(id === undefined ? {} : { id }), channel: f.channel });
        } else {
          this.error(ErrorCode.NotSubscribed, `not subscribed to ${f.channel}`, id, f.channel);
        }
        return;
      case 'ping':
        this.sendFrame({ type: 'pong', ...(id === undefined ? {} : { id }), ts: Date.now() });
        return;
      case 'auth':
        this.authenticate(f, id);
        return;
      default:
        this.error(ErrorCode.UnknownOp, `unknown op ${JSON.stringify(f.op)}; expected subscribe, unsubscribe, ping or auth`, id);
    }
  }

  private subscribe(f: Record<string, unknown>, id: number | string | undefined): void {
    if (typeof f.channel !== 'string') {
      this.error(ErrorCode.BadRequest, 'subscribe needs "channel" (string)', id);
      return;
    }
    const channel = f.channel;
    let since: Since | undefined;
    try {
      since = parseSince(f.since);
    } catch (err) {
      this.error(ErrorCode.BadRequest, (err as Error).message, id, channel);
      return;
    }
    if (this.principal.via === 'none') {
      this.error(ErrorCode.Unauthorized, 'authenticate first: send {"op":"auth","token"}', id, channel);
      return;
    }
    // Read the principal at each decision: pattern subscriptions check channels created later.
    this.o.hub
      .subscribe(this, channel, since, id, (c) => this.principal.canSubscribe(c))
      .catch((err: unknown) => {
        if (err instanceof SgError) {
          this.error(err.code, err.message, id, channel);
        } else {
          this.o.logger.error({ err, channel }, 'subscribe failed');
          this.error(ErrorCode.Internal, 'subscribe failed', id, channel);
        }
      });
  }

  private authenticate(f: Record<string, unknown>, id: number | string | undefined): void {
    if (typeof f.token !== 'string') {
      this.error(ErrorCode.BadRequest, 'auth needs "token" (string)', id);
      return;
    }
    this.o.auth.fromToken(f.token, { transport: 'ws' }).then(
      (p) => {
        if (this.closed) {
          return;
        }
        // A refresh must come from the same key: a connection does not change hands.
        if (this.principal.via === 'key' || this.principal.via === 'token') {
          if (p.name !== this.principal.name) {
            this.error(ErrorCode.Forbidden, `a refresh token must belong to the same key (${this.principal.name})`, id);
            return;
          }
        }
        clearTimeout(this.authTimer);
        this.principal = p;
        this.sendFrame({ type: 'auth_ok', ...(id === undefined ? {} : { id }), expiresAt: p.expiresAt ?? 0 });
      },
      (err: unknown) => {
        const e = err instanceof SgError ? err : sgError(ErrorCode.Unauthorized, 'invalid token');
        this.error(e.code, e.message, id);
        // Never authenticated: nothing to keep open for. An authenticated connection keeps its
        // current token until it expires (a failed refresh can be retried).
        if (this.principal.via === 'none') {
          this.close(CloseCode.Unauthorized, e.message);
        }
      },
    );
  }
}

/** Validates the `since` of a subscribe frame (docs/protocol.md, "Start positions"). */
export function parseSince(v: unknown): Since | undefined {
  if (v === undefined || v === null || v === 'latest') {
    return undefined;
  }
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new Error('since must be an object: {"epoch","offset"}, {"time"} or {"last"}');
  }
  const s = v as Record<string, unknown>;
  if ('epoch' in s || 'offset' in s) {
    if (typeof s.epoch !== 'string' || !Number.isSafeInteger(s.offset) || (s.offset as number) < 0) {
      throw new Error('since.epoch must be a string and since.offset an integer >= 0');
    }
    return { epoch: s.epoch, offset: s.offset as number };
  }
  if ('time' in s) {
    if (typeof s.time !== 'number' || !Number.isFinite(s.time)) {
      throw new Error('since.time must be ms since the Unix epoch');
    }
    return { time: s.time };
  }
  if ('last' in s) {
    if (!Number.isSafeInteger(s.last) || (s.last as number) < 0) {
      throw new Error('since.last must be an integer >= 0');
    }
    return { last: s.last as number };
  }
  throw new Error('since must be {"epoch","offset"}, {"time"} or {"last"}');
}
