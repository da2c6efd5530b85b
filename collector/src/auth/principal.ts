/**
 * Who is on the other end of a request or connection, and what they may do.
 * A principal comes from an API key, a short-lived token, an SSE stream ticket, or (auth off)
 * is `anonymous` with every scope.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface Scopes {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  readonly admin: boolean;
}

/** How the principal proved itself: `none` is a WebSocket that has not sent its `auth` frame yet. */
export type PrincipalVia = 'open' | 'key' | 'token' | 'ticket' | 'none';

export interface Principal {
  /** Key or token subject; never the secret itself. */
  readonly name: string;
  readonly admin: boolean;
  /** ms since epoch, for short-lived tokens. */
  readonly expiresAt?: number;
  readonly via?: PrincipalVia;
  /** The scopes behind canPublish/canSubscribe (absent for anonymous: everything). */
  readonly scopes?: Scopes;
  canPublish(channel: string): boolean;
  canSubscribe(channel: string): boolean;
}

/** Where a credential was presented: a label on streamgauge_auth_failures_total and audit lines. */
export interface AuthContext {
  transport: 'http' | 'ws' | 'sse';
  remote?: string;
}

export interface Authenticator {
  /** true when API keys are configured (requests without credentials are refused). */
  readonly enabled: boolean;
  /** Authenticates an HTTP request or WebSocket upgrade from its API key headers. Throws SgError SG_UNAUTHORIZED. */
  fromHeaders(headers: IncomingHttpHeaders, ctx?: AuthContext): Principal;
  /**
   * Like fromHeaders, and also accepts a short-lived token as `Authorization: Bearer <token>`.
   * With `optional`, a request with no credential at all gets UNAUTHENTICATED instead of an error
   * (a WebSocket that will send an `auth` frame).
   */
  authenticate(headers: IncomingHttpHeaders, ctx?: AuthContext, optional?: boolean): Promise<Principal>;
  /** Authenticates a token sent on an open connection (auth frame). Throws SgError SG_UNAUTHORIZED. */
  fromToken(token: string, ctx?: AuthContext): Promise<Principal>;
}

export const ANONYMOUS: Principal = Object.freeze({
  name: 'anonymous',
  admin: true,
  via: 'open' as const,
  canPublish: () => true,
  canSubscribe: () => true,
});

/** A connection that has not authenticated yet: may only send `auth` and `ping`. */
export const UNAUTHENTICATED: Principal = Object.freeze({
  name: 'unauthenticated',
  admin: false,
  via: 'none' as const,
  scopes: Object.freeze({ publish: [], subscribe: [], admin: false }),
  canPublish: () => false,
  canSubscribe: () => false,
});
