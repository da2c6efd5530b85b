/**
 * Keys configured: every request and connection needs a credential. REST and the WebSocket
 * upgrade take an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`, or a token as
 * `Authorization: Bearer <token>`; an open WebSocket takes a token in an `auth` frame.
 * Every refusal is counted (streamgauge_auth_failures_total) and written as an audit line.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode } from '@streamgauge/protocol';
import { SgError, sgError } from '../errors';
import type { Logger } from '../logger';
import { audit } from './audit';
import type { KeyStore } from './key-store';
import { type AuthContext, type Authenticator, type Principal, UNAUTHENTICATED } from './principal';
import { principalFromScopes, uncovered } from './scopes';
import type { SecurityMetrics } from './security-metrics';
import type { TokenIssuer } from './token-issuer';

/** A compact JWS: three base64url parts. API keys are never shaped like this (keys have no dots by convention, docs/security.md). */
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface KeyAuthenticatorOptions {
  keys: KeyStore;
  tokens: TokenIssuer;
  logger: Logger;
  metrics?: SecurityMetrics;
}

/**
 * The credential in the headers, if any: `Authorization: Bearer …` first, then `X-API-Key`. An
 * Authorization header of another scheme (Basic, forwarded by a proxy) does not hide an
 * X-API-Key; alone it is an invalid credential ('').
 */
export function credentialOf(headers: IncomingHttpHeaders): string | undefined {
  const authz = headers.authorization;
  const bearer = typeof authz === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authz) : null;
  if (bearer) {
    return bearer[1];
  }
  const x = headers['x-api-key'];
  if (typeof x === 'string') {
    return x.trim();
  }
  return typeof authz === 'string' ? '' : undefined;
}

export function createKeyAuthenticator(o: KeyAuthenticatorOptions): Authenticator {
  const fail = (ctx: AuthContext | undefined, reason: string, message: string, principal?: string): SgError => {
    o.metrics?.authFailures.inc({ transport: ctx?.transport ?? 'http', reason });
    audit(o.logger, 'auth_refused', { transport: ctx?.transport, remote: ctx?.remote, reason, principal });
    return sgError(ErrorCode.Unauthorized, message, { details: { reason } });
  };

  const fromKey = (credential: string | undefined, ctx: AuthContext | undefined): Principal => {
    if (credential === undefined) {
      throw fail(ctx, 'missing', 'an API key is required: Authorization: Bearer <key> or X-API-Key: <key>');
    }
    const entry = credential ? o.keys.find(credential) : undefined;
    if (!entry) {
      throw fail(ctx, 'invalid', 'invalid API key');
    }
    return principalFromScopes(entry.name, entry.scopes, 'key');
  };

  const fromToken = async (token: string, ctx?: AuthContext): Promise<Principal> => {
    let v;
    try {
      v = await o.tokens.verify(token);
    } catch (err) {
      const reason =
        err instanceof SgError && (err.details as { reason?: string } | undefined)?.reason === 'expired' ? 'expired' : 'invalid';
      throw fail(ctx, reason, err instanceof SgError ? err.message : 'invalid token');
    }
    // A token outlives neither its key nor a narrowing of the key's scopes in the config.
    const key = o.keys.byKeyName(v.subject);
    if (
      !key ||
      uncovered(key.scopes.publish, v.scopes.publish).length ||
      uncovered(key.scopes.subscribe, v.scopes.subscribe).length ||
      (v.scopes.admin && !key.scopes.admin)
    ) {
      throw fail(ctx, 'invalid', 'token no longer matches its API key', v.subject);
    }
    return principalFromScopes(v.subject, v.scopes, 'token', v.expiresAt);
  };

  return {
    enabled: true,
    fromHeaders: (headers, ctx) => fromKey(credentialOf(headers), ctx),
    async authenticate(headers, ctx, optional = false) {
      const credential = credentialOf(headers);
      if (credential === undefined && optional) {
        return UNAUTHENTICATED;
      }
      if (credential && JWT_RE.test(credential) && !o.keys.find(credential)) {
        return fromToken(credential, ctx);
      }
      return fromKey(credential, ctx);
    },
    fromToken,
  };
}
