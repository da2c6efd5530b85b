/**
 * The one place that decides who may call which HTTP route. Every route declares its access in
 * its route config (route-access.ts); a route that declares nothing cannot even be registered,
 * and would be refused if it were. The decision is made on the route fastify matched (after it
 * decoded the path, stripped an absolute-form request line, or ignored a trailing slash), never on
 * the raw request URL: `/%61pi/v1/publish`, `/api/v1/publish/` and
 * `GET http://host/api/v1/publish` all reach the publish route, so they all meet its rules.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '@streamgauge/protocol';
import { audit } from '../auth/audit';
import { type Security, hostForbidden } from '../auth/create-security';
import type { Principal } from '../auth/principal';
import { SgError, sgError } from '../errors';
import { retryAfterSeconds } from '../limits/connection-guard';
import { setPrincipal } from '../auth/request-principal';
import { type RouteAccess, accessRefusal } from './route-access';

export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly access: RouteAccess;
}

export interface Authorization {
  /** Every route registered on the app, with its declared access (the route-table test walks it). */
  readonly routes: readonly RouteEntry[];
}

/** Install before any route is registered: the onRoute check only sees routes added after it. */
export function installAuthorization(app: FastifyInstance, security: Security): Authorization {
  const routes: RouteEntry[] = [];
  const { auth, tickets, guard, metrics, logger } = security;

  app.addHook('onRoute', (r) => {
    const a = r.config?.access;
    if (!a) {
      throw new Error(
        `route ${[r.method].flat().join(',')} ${r.url} declares no access: add config.access (collector/src/http/route-access.ts)`,
      );
    }
    for (const method of [r.method].flat()) {
      routes.push(Object.freeze({ method, url: r.url, access: a }));
    }
  });

  const forbidden = (req: FastifyRequest, transport: 'http' | 'sse', p: Principal, reason: string): SgError => {
    metrics.authFailures.inc({ transport, reason: 'forbidden' });
    audit(logger, 'auth_refused', { transport, remote: req.ip, principal: p.name, reason, route: req.routeOptions.url });
    return sgError(ErrorCode.Forbidden, reason);
  };

  const fromTicket = (req: FastifyRequest, ticket: string): Principal => {
    const p = tickets.consume(ticket);
    if (!p) {
      metrics.authFailures.inc({ transport: 'sse', reason: 'invalid' });
      audit(logger, 'auth_refused', { transport: 'sse', remote: req.ip, reason: 'ticket unknown, used or expired' });
      throw sgError(
        ErrorCode.Unauthorized,
        'stream ticket unknown, already used or expired: get a new one from POST /api/v1/stream-ticket',
      );
    }
    return p;
  };

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (!security.hostAllowed(req.headers.host)) {
      metrics.authFailures.inc({ transport: 'http', reason: 'host' });
      throw hostForbidden(req.headers.host);
    }
    if (req.is404) {
      // No route matched: the not-found handler answers and serves nothing.
      return;
    }
    const a = req.routeOptions.config.access;
    if (!a) {
      // Default deny (unreachable: onRoute refuses such routes).
      throw sgError(ErrorCode.Forbidden, 'this route declares no access');
    }
    if (a.scope === 'public') {
      return;
    }
    const transport = a.ticket ? 'sse' : 'http';
    const ticket = a.ticket ? (req.query as Record<string, unknown> | undefined)?.ticket : undefined;
    const p =
      typeof ticket === 'string' && auth.enabled
        ? fromTicket(req, ticket)
        : await auth.authenticate(req.headers, { transport, remote: req.ip });
    const refusal = accessRefusal(a, p);
    if (refusal) {
      throw forbidden(req, transport, p, refusal);
    }
    if (a.limit && p.via !== 'open') {
      // With auth off there are no keys to limit: the collector then serves loopback only.
      try {
        guard.admitRoute(a.limit, p.name);
      } catch (err) {
        void reply.header('retry-after', String(retryAfterSeconds(err as SgError) ?? 1));
        throw err;
      }
    }
    setPrincipal(req, p);
  });

  return { routes };
}
