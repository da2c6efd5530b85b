/**
 * The streaming WebSocket endpoint. Checks happen in the upgrade handler, before a socket exists:
 * path, Origin (cross-site WebSocket hijacking), authentication. The connection limit closes the
 * new socket with 4503 right after the handshake, so that browsers (which never see an HTTP status
 * on a failed upgrade) can read the reason.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, ErrorCode, PROTOCOL_VERSION, type ErrorBody } from '@streamgauge/protocol';
import type { Config } from '../collector-config';
import { SgError } from '../errors';
import type { Authenticator, Principal } from '../auth/principal';
import type { Hub } from '../hub/hub';
import type { CoreMetrics } from '../metrics/core-metrics';
import type { Logger } from '../logger';
import { originAllowed } from './origin';
import { WsAdapter } from './ws-adapter';
import type { FrameLimiter } from '../limits/connection-guard';

export interface WsServerOptions {
  config: Config['ws'];
  hub: Hub;
  metrics: CoreMetrics;
  auth: Authenticator;
  logger: Logger;
  serverName: string;
  /** Rate limit and credentials for an upgrade (security.admitWebSocket); default: auth.fromHeaders. */
  admit?: (req: IncomingMessage) => Promise<Principal>;
  /** A new per-connection frame rate limiter (auth.limits.wsMessagesPerSecond). */
  frameLimiter?: () => FrameLimiter;
  /** A connection admitted without credentials must authenticate within this time (close 4401). */
  authTimeoutMs?: number;
}

export interface WsServerHandle {
  clients(): number;
  queuedBytes(): number;
  /** Closes every client with 1001 (going away) and stops accepting upgrades. */
  close(timeoutMs: number): Promise<void>;
}

export function attachWebSocketServer(server: Server, o: WsServerOptions): WsServerHandle {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: o.config.maxPayloadBytes,
    // Compression costs CPU per client per frame and defeats sharing one frame buffer across subscribers.
    perMessageDeflate: false,
    clientTracking: false,
  });
  const sessions = new Set<WsAdapter>();
  let closing = false;

  const refuse = (socket: Duplex, status: number, code: ErrorBody['error']['code'], message: string, reason: string): void => {
    o.metrics.connectionsRefused.inc({ transport: 'ws', reason });
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : status === 429 ? 'Too Many Requests' : status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Service Unavailable'}\r\n` +
        'Connection: close\r\nContent-Type: application/json\r\n' +
        (status === 429 ? 'Retry-After: 1\r\n' : '') +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== o.config.path) {
      refuse(socket, 404, ErrorCode.NotFound, `no WebSocket endpoint at ${path}; use ${o.config.path}`, 'path');
      return;
    }
    if (closing) {
      refuse(socket, 503, ErrorCode.StoreUnavailable, 'the collector is shutting down', 'shutdown');
      return;
    }
    if (!originAllowed(req.headers.origin, req.headers.host, o.config.allowedOrigins)) {
      o.logger.warn(
        { event: 'ws_origin_refused', origin: req.headers.origin, remote: req.socket.remoteAddress },
        'WebSocket upgrade refused: origin not allowed',
      );
      refuse(socket, 403, ErrorCode.OriginForbidden, `origin ${req.headers.origin} is not allowed (ws.allowedOrigins)`, 'origin');
      return;
    }
    // A peer that resets while credentials are checked must not crash the process.
    socket.on('error', () => socket.destroy());
    // Async: tokens are verified with jose. The authenticator counts and audits its refusals.
    const admit = o.admit ?? (async (r: IncomingMessage) => o.auth.fromHeaders(r.headers));
    admit(req).then(
      (principal) => accept(req, socket, head, principal),
      (err: unknown) => {
        const e = err instanceof SgError ? err : undefined;
        if (e?.code === ErrorCode.RateLimited) {
          refuse(socket, 429, ErrorCode.RateLimited, e.message, 'rate');
        } else if (e?.code === ErrorCode.HostForbidden) {
          refuse(socket, 403, ErrorCode.HostForbidden, e.message, 'host');
        } else {
          refuse(socket, 401, ErrorCode.Unauthorized, e?.message ?? 'unauthorized', 'auth');
        }
      },
    );
  };

  const accept = (req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal): void => {
    if (closing || socket.destroyed) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (sessions.size >= o.config.maxConnections) {
        o.metrics.connectionsRefused.inc({ transport: 'ws', reason: 'limit' });
        ws.close(CloseCode.TooManyConnections, ErrorCode.TooManyConnections);
        return;
      }
      const session = new WsAdapter(ws, {
        socket,
        hub: o.hub,
        metrics: o.metrics,
        auth: o.auth,
        principal,
        remote: req.socket.remoteAddress,
        maxQueueBytes: o.config.maxQueueBytes,
        maxSubscriptions: o.config.maxSubscriptionsPerConnection,
        logger: o.logger,
        frameLimiter: o.frameLimiter?.(),
        authTimeoutMs: o.authTimeoutMs,
      });
      sessions.add(session);
      ws.on('close', () => sessions.delete(session));
      session.session.control({
        type: 'welcome',
        protocol: PROTOCOL_VERSION,
        server: o.serverName,
        heartbeatMs: o.config.heartbeatIntervalMs,
        maxPayloadBytes: o.config.maxPayloadBytes,
      });
    });
  };
  server.on('upgrade', onUpgrade);

  // One sweep for all clients instead of a timer per client: ping, expect pong, terminate.
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const s of sessions) {
        s.heartbeat(now, o.config.heartbeatIntervalMs, o.config.heartbeatTimeoutMs);
      }
    },
    Math.max(50, Math.min(o.config.heartbeatTimeoutMs, o.config.heartbeatIntervalMs) / 2),
  );
  sweep.unref();

  return {
    clients: () => sessions.size,
    queuedBytes: () => {
      let n = 0;
      for (const s of sessions) {
        n += s.queuedBytes();
      }
      return n;
    },
    async close(timeoutMs: number) {
      closing = true;
      clearInterval(sweep);
      server.off('upgrade', onUpgrade);
      const all = [...sessions];
      await Promise.all(
        all.map(
          (s) =>
            new Promise<void>((resolve) => {
              const t = setTimeout(() => {
                s.terminate();
                resolve();
              }, timeoutMs);
              s.onClosed(() => {
                clearTimeout(t);
                resolve();
              });
              s.goAway();
            }),
        ),
      );
      wss.close();
    },
  };
}
