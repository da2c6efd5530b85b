/**
 * What a route declares about who may call it: `config: { access: { scope: … } }` on every
 * route (fastify route config). The authorization hook (authorize.ts) reads it from the matched
 * route, never from the request URL, and refuses any route that declares nothing.
 */
import type { Principal } from '../auth/principal';

/**
 * - `public`: no credential is read (health, readiness, /metrics which has its own bearer guard).
 * - `any`: any valid credential (key, token), whatever its scopes.
 * - `publish` / `subscribe`: a credential with at least one publish / subscribe pattern; the
 *   route still checks each channel against the patterns.
 * - `admin`: a credential with the admin scope.
 */
export type RouteScope = 'public' | 'any' | 'publish' | 'subscribe' | 'admin';

/** Per-route rate limits, keyed by the caller (auth.limits). */
export type RouteLimit = 'publish' | 'ticket';

export interface RouteAccess {
  readonly scope: RouteScope;
  /** Only an API key itself, not a token (minting tokens: a leaked token must not renew itself). */
  readonly keyOnly?: boolean;
  /** The route also accepts a single-use `?ticket=` (SSE: EventSource cannot send headers). */
  readonly ticket?: boolean;
  /** A rate limit applied before the body is read. */
  readonly limit?: RouteLimit;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

/** Route option shorthand: `app.get(path, access('subscribe'), handler)`. */
export function access(scope: RouteScope, extra: Omit<RouteAccess, 'scope'> = {}): { config: { access: RouteAccess } } {
  return { config: { access: Object.freeze({ scope, ...extra }) } };
}

/** Why `p` may not call a route declaring `a`, or undefined when it may. */
export function accessRefusal(a: RouteAccess, p: Principal): string | undefined {
  if (p.via === 'open') {
    // No keys configured: the collector listens on loopback only (main.ts) and everyone may do everything.
    return undefined;
  }
  if (p.via === 'none') {
    return 'not authenticated';
  }
  if (a.keyOnly && p.via !== 'key') {
    return 'this route needs an API key, not a token';
  }
  switch (a.scope) {
    case 'public':
    case 'any':
      return undefined;
    case 'publish':
      return p.scopes && p.scopes.publish.length > 0 ? undefined : 'the publish scope is required';
    case 'subscribe':
      return p.scopes && p.scopes.subscribe.length > 0 ? undefined : 'the subscribe scope is required';
    case 'admin':
      return p.admin ? undefined : 'the admin scope is required';
  }
}
