/**
 * Who is on the other end of a request or connection, and what they may do.
 * Placeholder until the security issue lands: everyone is `anonymous` with every scope.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface Principal {
  /** Key or token subject; never the secret itself. */
  readonly name: string;
  readonly admin: boolean;
  /** ms since epoch, for short-lived tokens. */
  readonly expiresAt?: number;
  canPublish(channel: string): boolean;
  canSubscribe(channel: string): boolean;
}

export interface Authenticator {
  /** true when API keys are configured (requests without credentials are refused). */
  readonly enabled: boolean;
  /** Authenticates an HTTP request or WebSocket upgrade from its headers. Throws SgError SG_UNAUTHORIZED. */
  fromHeaders(headers: IncomingHttpHeaders): Principal;
  /** Authenticates a token sent on an open connection (auth frame). Throws SgError SG_UNAUTHORIZED. */
  fromToken(token: string): Promise<Principal>;
}

export const ANONYMOUS: Principal = Object.freeze({
  name: 'anonymous',
  admin: true,
  canPublish: () => true,
  canSubscribe: () => true,
});
