/**
 * Limits on the HTTP server's connections (auth.limits.http*): how long a client may take to send
 * its headers and its whole request, how long an idle keep-alive connection stays open, and how
 * many connections one client IP may hold at once. Without them a slow body or a few hundred idle
 * sockets from one address held descriptors until the process could accept nothing (issue 12).
 * Node checks the timeouts every `connectionsCheckingInterval` ms and answers 408.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { LimitsConfig } from '../auth/config';
import type { SecurityMetrics } from '../auth/security-metrics';
import { ConfigError } from '../errors';
import type { ProxyTrust } from './trusted-proxies';

/** Options to spread into Fastify(): fastify passes `http` to http.createServer. */
export function httpServerOptions(l: LimitsConfig): {
  requestTimeout: number;
  keepAliveTimeout: number;
  http: { headersTimeout: number; connectionsCheckingInterval: number };
} {
  if (l.httpHeadersTimeoutMs > l.httpRequestTimeoutMs) {
    throw new ConfigError(
      [
        `auth.limits.httpHeadersTimeoutMs (${l.httpHeadersTimeoutMs}) must not exceed auth.limits.httpRequestTimeoutMs (${l.httpRequestTimeoutMs})`,
      ],
      'config',
    );
  }
  return {
    requestTimeout: l.httpRequestTimeoutMs,
    keepAliveTimeout: l.httpKeepAliveTimeoutMs,
    http: { headersTimeout: l.httpHeadersTimeoutMs, connectionsCheckingInterval: Math.min(1_000, l.httpHeadersTimeoutMs) },
  };
}

/**
 * Closes a new TCP connection at once when its IP already holds `max` (0: no cap). Counts every
 * connection, WebSocket and SSE included, until it closes. A trusted proxy's connections are not
 * capped: they carry many clients (limits/trusted-proxies.ts). Returns the function that detaches it.
 */
export function capConnectionsPerIp(server: Server, max: number, trust: ProxyTrust, metrics?: SecurityMetrics): () => void {
  if (max <= 0) {
    return () => undefined;
  }
  const open = new Map<string, number>();
  const onConnection = (socket: Socket): void => {
    if (trust.trusts(socket.remoteAddress)) {
      return;
    }
    const ip = socket.remoteAddress ?? 'unknown';
    const n = open.get(ip) ?? 0;
    if (n >= max) {
      metrics?.rateLimited.inc({ kind: 'http_connection' });
      socket.destroy();
      return;
    }
    open.set(ip, n + 1);
    socket.once('close', () => {
      const left = (open.get(ip) ?? 1) - 1;
      if (left > 0) {
        open.set(ip, left);
      } else {
        open.delete(ip);
      }
    });
  };
  server.on('connection', onConnection);
  return () => server.off('connection', onConnection);
}
