/**
 * Short-lived signed tokens (JWT): HS256 with a shared secret, or RS256/ES256 with a key pair
 * (the collector signs with the private key; anything holding the public key can verify).
 * Claims: `sub` (key name), `scp` (scopes), `iss`, `iat`, `exp`, `jti`. Nothing else is trusted.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT, errors as joseErrors, importPKCS8, importSPKI, jwtVerify, type KeyLike } from 'jose';
import { ErrorCode } from '@streamgauge/protocol';
import { sgError } from '../errors';
import type { TokensConfig } from './config';
import type { Scopes } from './principal';

export interface IssuedToken {
  token: string;
  /** ms since the Unix epoch. */
  expiresAt: number;
}

export interface VerifiedToken {
  subject: string;
  scopes: Scopes;
  expiresAt: number;
}

export interface TokenIssuer {
  sign(subject: string, scopes: Scopes, ttlSeconds: number): Promise<IssuedToken>;
  /** Throws SgError SG_UNAUTHORIZED with `details.reason` expired or invalid. */
  verify(token: string): Promise<VerifiedToken>;
}

function stringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= 1024 && v.every((s) => typeof s === 'string');
}

export function createTokenIssuer(c: TokensConfig): TokenIssuer {
  let signKey: Promise<KeyLike | Uint8Array>;
  let verifyKey: Promise<KeyLike | Uint8Array>;
  if (c.algorithm === 'HS256') {
    // No secret configured: a random one, so tokens work but die with the process (docs/security.md).
    const secret = c.secret ? new TextEncoder().encode(c.secret) : new Uint8Array(randomBytes(32));
    signKey = verifyKey = Promise.resolve(secret);
  } else {
    // Read at startup so a missing file fails now, not on the first token request.
    const privatePem = readFileSync(c.privateKeyFile, 'utf8');
    const publicPem = readFileSync(c.publicKeyFile, 'utf8');
    signKey = importPKCS8(privatePem, c.algorithm);
    verifyKey = importSPKI(publicPem, c.algorithm);
  }

  return {
    async sign(subject, scopes, ttlSeconds) {
      const now = Math.floor(Date.now() / 1000);
      const exp = now + ttlSeconds;
      const token = await new SignJWT({ scp: { publish: [...scopes.publish], subscribe: [...scopes.subscribe], admin: scopes.admin } })
        .setProtectedHeader({ alg: c.algorithm, typ: 'JWT' })
        .setSubject(subject)
        .setIssuer(c.issuer)
        .setIssuedAt(now)
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(await signKey);
      return { token, expiresAt: exp * 1000 };
    },

    async verify(token) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, await verifyKey, {
          issuer: c.issuer,
          algorithms: [c.algorithm],
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) {
          throw sgError(ErrorCode.Unauthorized, 'token expired: request a new one from POST /api/v1/token', {
            details: { reason: 'expired' },
          });
        }
        throw sgError(ErrorCode.Unauthorized, 'invalid token', { details: { reason: 'invalid' } });
      }
      const scp = payload.scp as Record<string, unknown> | undefined;
      if (!scp || typeof scp !== 'object' || !stringArray(scp.publish) || !stringArray(scp.subscribe) || typeof scp.admin !== 'boolean') {
        throw sgError(ErrorCode.Unauthorized, 'invalid token: malformed scopes', { details: { reason: 'invalid' } });
      }
      return {
        subject: payload.sub!,
        scopes: { publish: scp.publish, subscribe: scp.subscribe, admin: scp.admin },
        expiresAt: payload.exp! * 1000,
      };
    },
  };
}
