/**
 * The WebSocket adapter of a Session: parses client frames, writes server frames, answers
 * heartbeats. A bad frame gets an error frame and the connection stays open; only an oversized
 * frame (1009, closed by ws), a slow reader (4008), a dead peer (4009), an expired token (4401) or
 * a lost store (4504) close it. Subscriptions, limits and the queue policy live in the Session.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { CloseCode, ErrorCode, type ServerFrame } from '@streamgauge/protocol';
import { SgError, sgError } from '../errors';
import type { Authenticator, Principal } from '../auth/principal';
import type { Hub } from '../hub/hub';
import type { CoreMetrics } from '../metrics/core-metrics';
import type { Logger } from '../logger';
import type { FrameLimiter } from '../limits/connection-guard';
import { type EndReason, Session, type SessionOutput } from '../sessions/session';
import { parseSince } from '../sessions/since';
import { wsTextFrame } from './ws-frame';

export interface WsAdapterOptions {
  /**
   * The socket ws was given for this connection (WebSocketServer.handleUpgrade): `messages`
   * frames are written to it directly, already framed (see messages()).
   */
  socket: Duplex;
  hub: Hub;
  metrics: CoreMetrics;
  auth: Authenticator;
  principal: Principal;
  maxQueueBytes: number;
  maxSubscriptions: number;
  logger: Logger;
  /** The peer's address, for audit lines. */
  remote?: string;
  /** Frames per second for this connection (auth.limits.wsMessagesPerSecond); absent: no limit. */
  frameLimiter?: FrameLimiter;
  /** When the principal is UNAUTHENTICATED: ms to send an `auth` frame before close 4401. */
  authTimeoutMs?: number;
}

/**
 * A closing peer gets this long per MiB still queued to read its close frame (which waits behind
 * the queue) before the socket is cut: a reader draining at 1 MiB/s or faster sees the close code.
 */
const CLOSE_GRACE_MS_PER_MIB = 1_000;
const CLOSE_GRACE_MIN_MS = 2_000;
const CLOSE_GRACE_MAX_MS = 30_000;

/** The last messages frame, encoded as a whole WebSocket frame once and shared by every connection (see messages()). */
let lastFrame = '';
let lastWireFrame: Buffer = Buffer.alloc(0);

export class WsAdapter implements SessionOutput {
  readonly transport = 'ws' as const;
  readonly session: Session;
  private principal: Principal;
  private awaitingPongSince = 0;
  private lastPingAt = Date.now();
  private authTimer?: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly o: WsAdapterOptions,
  ) {
    this.principal = o.principal;
    this.session = new Session(this, {
      hub: o.hub,
      metrics: o.metrics,
      logger: o.logger,
      principal: o.principal,
      maxQueueBytes: o.maxQueueBytes,
      maxSubscriptions: o.maxSubscriptions,
    });
    if (this.principal.via === 'none') {
      // Admitted without credentials (browsers cannot set headers on a WebSocket): it has
      // auth.limits.authTimeoutMs to send an `auth` frame, and may do nothing else meanwhile.
      this.authTimer = setTimeout(
        () =>
          this.session.close({
            closeCode: CloseCode.Unauthorized,
            errorCode: ErrorCode.Unauthorized,
            message: 'authentication timeout: send {"op":"auth","token"} first',
          }),
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
      clearTimeout(this.authTimer);
      this.session.close();
    });
  }

  // ---- SessionOutput -------------------------------------------------------------------------

  messages(frame: string): void {
    // The fan-out hands the same frame string to every subscriber of a channel in one flush:
    // encode it once, header included, and write those bytes to each socket (ws-frame.ts). Written
    // beside ws's sender, in order with it: with perMessageDeflate off (ws-server.ts) and no Blob
    // ever sent, ws writes every frame (control frames, pings, close) to the socket at once and
    // queues nothing, so the socket's order is the order of the calls.
    if (frame !== lastFrame) {
      lastFrame = frame;
      lastWireFrame = wsTextFrame(Buffer.from(frame));
    }
    // As ws.send: nothing is written once the closing handshake started.
    if (this.ws.readyState === this.ws.OPEN) {
      this.o.socket.write(lastWireFrame);
    }
  }

  control(frame: ServerFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  queuedBytes(): number {
    // ws.bufferedAmount is this plus what ws's sender queues, which is always 0 here (see messages()).
    return this.o.socket.writableLength;
  }

  end(reason: EndReason | undefined): void {
    clearTimeout(this.authTimer);
    if (!reason || this.ws.readyState >= this.ws.CLOSING) {
      return;
    }
    this.ws.close(reason.closeCode, reason.message.slice(0, 120));
    // A peer that does not answer the close handshake is cut after a grace period, longer when
    // its close frame waits behind a long queue (so a slow reader still reads 4008).
    const grace = Math.min(CLOSE_GRACE_MAX_MS, Math.max(CLOSE_GRACE_MIN_MS, (this.ws.bufferedAmount / (1 << 20)) * CLOSE_GRACE_MS_PER_MIB));
    setTimeout(() => this.ws.terminate(), grace).unref();
  }

  // ---- connection ----------------------------------------------------------------------------

  onClosed(listener: () => void): void {
    if (this.ws.readyState === this.ws.CLOSED) {
      listener();
    } else {
      this.ws.once('close', listener);
    }
  }

  /** Server shutdown: 1001 to every client, whatever state it is in. */
  goAway(): void {
    if (this.session.closed) {
      if (this.ws.readyState < this.ws.CLOSING) {
        this.ws.close(CloseCode.GoingAway, 'server shutting down: reconnect and resume');
      }
      return;
    }
    this.session.close({
      closeCode: CloseCode.GoingAway,
      errorCode: ErrorCode.StoreUnavailable,
      message: 'server shutting down: reconnect and resume',
    });
  }

  terminate(): void {
    this.ws.terminate();
  }

  heartbeat(now: number, intervalMs: number, timeoutMs: number): void {
    if (this.session.closed) {
      return;
    }
    if (this.awaitingPongSince && now - this.awaitingPongSince >= timeoutMs) {
      this.o.logger.debug({ event: 'ws_heartbeat_timeout', client: this.o.remote }, 'no pong: closing');
      this.session.close({ closeCode: CloseCode.HeartbeatTimeout, errorCode: ErrorCode.Internal, message: 'heartbeat timeout' });
      return;
    }
    if (!this.awaitingPongSince && now - this.lastPingAt >= intervalMs) {
      this.lastPingAt = now;
      this.awaitingPongSince = now;
      this.ws.ping();
    }
  }

  private error(code: ErrorCode, message: string, id?: number | string, channel?: string): void {
    this.o.metrics.wsErrors.inc({ code });
    this.session.control({ type: 'error', ...(id === undefined ? {} : { id }), code, message, ...(channel ? { channel } : {}) });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.session.closed) {
      return;
    }
    const rate = this.o.frameLimiter?.take() ?? 'accept';
    if (rate !== 'accept') {
      if (rate === 'close') {
        this.session.close({
          closeCode: CloseCode.RateLimited,
          errorCode: ErrorCode.RateLimited,
          message: 'rate limited: too many frames (auth.limits.wsMessagesPerSecond)',
        });
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
        } else if (this.session.unsubscribe(f.channel)) {
          this.session.control({ type: 'unsubscribed', ...(id === undefined ? {} : { id }), channel: f.channel });
        } else {
          this.error(ErrorCode.NotSubscribed, `not subscribed to ${f.channel}`, id, f.channel);
        }
        return;
      case 'ping':
        this.session.control({ type: 'pong', ...(id === undefined ? {} : { id }), ts: Date.now() });
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
    let since;
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
    this.session.subscribe(channel, since, id).catch((err: unknown) => {
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
    this.o.auth.fromToken(f.token, { transport: 'ws', remote: this.o.remote }).then(
      (p) => {
        if (this.session.closed) {
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
        this.session.control({ type: 'auth_ok', ...(id === undefined ? {} : { id }), expiresAt: p.expiresAt ?? 0 });
        // Channels the new token no longer allows are dropped; the session ends at its expiry.
        this.session.setPrincipal(p);
      },
      (err: unknown) => {
        const e = err instanceof SgError ? err : sgError(ErrorCode.Unauthorized, 'invalid token');
        this.error(e.code, e.message, id);
        // Never authenticated: nothing to keep open for. An authenticated connection keeps its
        // current token until it expires (a failed refresh can be retried).
        if (this.principal.via === 'none') {
          this.session.close({ closeCode: CloseCode.Unauthorized, errorCode: e.code, message: e.message });
        }
      },
    );
  }
}
