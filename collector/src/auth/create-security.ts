/**
 * Everything the security issue adds, built once from the config: the authenticator, the token
 * issuer, SSE stream tickets, the rate limiters and their counters. app.ts builds it and hands
 * the pieces to the transports and routes.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { ErrorCode } from '@streamgauge/protocol';
import type { Config } from '../collector-config';
import { type SgError, sgError } from '../errors';
import { type HostCheck, createHostCheck } from './host-check';
import { principalOf } from './request-principal';
import { ConnectionGuard, retryAfterSeconds } from '../limits/connection-guard';
import { createProxyTrust, type ProxyTrust } from '../limits/trusted-proxies';
import type { Logger } from '../logger';
import type { AuthConfig } from './config';
import { createKeyAuthenticator } from './key-authenticator';
import { KeyStore } from './key-store';
import { createOpenAuthenticator } from './open-authenticator';
import type { Authenticator, Principal } from './principal';
import { createSecurityMetrics, type SecurityMetrics } from './security-metrics';
import { TicketStore } from './stream-tickets';
import { createTokenIssuer, type TokenIssuer } from './token-issuer';

export interface Security {
  readonly config: AuthConfig;
  readonly auth: Authenticator;
  readonly keys: KeyStore;
  /** Present when keys are configured. */
  readonly tokens?: TokenIssuer;
  readonly tickets: TicketStore;
  readonly guard: ConnectionGuard;
  readonly metrics: SecurityMetrics;
  readonly logger: Logger;
  /**
   * For a WebSocket upgrade: the per-IP connection limit, then credentials from the headers. With
   * keys on and no credential, the connection is admitted as UNAUTHENTICATED and must send an
   * `auth` frame within auth.limits.authTimeoutMs. Throws SgError (SG_RATE_LIMITED, SG_UNAUTHORIZED).
   */
  admitWebSocket(req: IncomingMessage): Promise<Principal>;
  /** The Host header check against DNS rebinding (auth/host-check.ts). */
  readonly hostAllowed: HostCheck;
  /** Proxies whose X-Forwarded-For is believed (auth.limits.trustedProxies). */
  readonly proxyTrust: ProxyTrust;
  /** For an SSE request: the per-IP limit; the authorization hook already authenticated it (`?ticket=` or headers). */
  admitSse(req: FastifyRequest, reply: FastifyReply): Promise<Principal>;
}

export function createSecurity(config: Config, logger: Logger, registry: Registry): Security {
  const c = config.auth as AuthConfig;
  const metrics = createSecurityMetrics(registry);
  const keys = new KeyStore(c.keys);
  const tokens = keys.size > 0 ? createTokenIssuer(c.tokens) : undefined;
  const auth = tokens ? createKeyAuthenticator({ keys, tokens, logger, metrics }) : createOpenAuthenticator();
  const tickets = new TicketStore(c.tokens.ticketTtlSeconds * 1000, c.tokens.maxTickets, c.tokens.maxTicketsPerKey);
  const guard = new ConnectionGuard(c.limits, metrics);
  const proxyTrust = createProxyTrust(c.limits.trustedProxies);
  const hostAllowed = createHostCheck({ authEnabled: keys.size > 0, serverHost: config.server.host, allowedHosts: c.allowedHosts });

  return {
    config: c,
    auth,
    keys,
    tokens,
    tickets,
    guard,
    metrics,
    logger,
    hostAllowed,
    proxyTrust,
    async admitWebSocket(req) {
      const remote = proxyTrust.clientAddress(req);
      if (!hostAllowed(req.headers.host)) {
        throw hostForbidden(req.headers.host);
      }
      guard.admitConnection(remote);
      return auth.authenticate(req.headers, { transport: 'ws', remote }, true);
    },
    async admitSse(req, reply) {
      try {
        guard.admitConnection(req.ip);
      } catch (err) {
        void reply.header('retry-after', String(retryAfterSeconds(err as SgError) ?? 1));
        throw err;
      }
      // The authorization hook (http/authorize.ts) already took the ticket or the header credential.
      return principalOf(req);
    },
  };
}

export function hostForbidden(host: string | undefined): SgError {
  return sgError(ErrorCode.HostForbidden, `Host ${JSON.stringify(host ?? '')} is not served here: add it to auth.allowedHosts`);
}
