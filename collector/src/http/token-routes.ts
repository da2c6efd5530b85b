/**
 * POST /api/v1/token: an API key mints a short-lived token with a subset of its scopes.
 * POST /api/v1/stream-ticket: a key or token mints a single-use SSE ticket (docs/security.md).
 * POST /api/v1/read-token: an API key mints a subscribe-only token for a browser (Grafana direct mode).
 * GET /api/v1/admin/keys: key names and scopes (admin scope), never the keys.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode } from '@streamgauge/protocol';
import { SgError, sgError } from '../errors';
import { principalOf } from '../auth/request-principal';
import { access } from './route-access';
import { audit } from '../auth/audit';
import type { Security } from '../auth/create-security';
import type { Principal, Scopes } from '../auth/principal';
import { isScopePattern, uncovered } from '../auth/scopes';

const NO_SCOPES: Scopes = Object.freeze({ publish: [], subscribe: [], admin: false });

function patterns(v: unknown, where: string): string[] | undefined {
  if (v === undefined) {
    return undefined;
  }
  if (!Array.isArray(v) || v.length > 256 || !v.every(isScopePattern)) {
    throw sgError(ErrorCode.BadRequest, `${where} must be an array of at most 256 channel names or patterns`);
  }
  return v;
}

/** Validates the request body and narrows the key's scopes to what it asks for. */
export function requestedScopes(body: unknown, key: Scopes): Scopes {
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    throw sgError(ErrorCode.BadRequest, 'body must be {"scopes"?: {"publish"?, "subscribe"?, "admin"?}, "ttlSeconds"?}');
  }
  const b = (body ?? {}) as Record<string, unknown>;
  const s = b.scopes;
  if (s !== undefined && (typeof s !== 'object' || s === null || Array.isArray(s))) {
    throw sgError(ErrorCode.BadRequest, 'scopes must be an object');
  }
  const sc = (s ?? {}) as Record<string, unknown>;
  if (sc.admin !== undefined && typeof sc.admin !== 'boolean') {
    throw sgError(ErrorCode.BadRequest, 'scopes.admin must be a boolean');
  }
  const publish = patterns(sc.publish, 'scopes.publish') ?? [...key.publish];
  const subscribe = patterns(sc.subscribe, 'scopes.subscribe') ?? [...key.subscribe];
  const admin = sc.admin === true;
  const extra = [
    ...uncovered(key.publish, publish).map((p) => `publish ${p}`),
    ...uncovered(key.subscribe, subscribe).map((p) => `subscribe ${p}`),
  ];
  if (admin && !key.admin) {
    extra.push('admin');
  }
  if (extra.length) {
    throw sgError(ErrorCode.Forbidden, `requested scopes exceed the key's: ${extra.join(', ')}`, { details: { exceeding: extra } });
  }
  return { publish, subscribe, admin };
}

export function registerSecurityRoutes(app: FastifyInstance, security: Security): void {
  const { config, logger } = security;

  const requireAuthOn = (): void => {
    if (!security.auth.enabled) {
      throw sgError(ErrorCode.NotFound, 'authentication is off (no API keys configured): connect without a token or ticket');
    }
  };
  const refuse = (req: FastifyRequest, p: Principal, event: 'token_refused', err: SgError): SgError => {
    audit(logger, event, { principal: p.name, remote: req.ip, reason: err.message });
    return err;
  };

  // `key`: a token minting tokens would let a leaked token live forever.
  app.post('/api/v1/token', access('any', { keyOnly: true }), async (req, reply) => {
    requireAuthOn();
    const p = principalOf(req);
    let scopes: Scopes;
    try {
      scopes = requestedScopes(req.body, p.scopes ?? NO_SCOPES);
    } catch (err) {
      throw err instanceof SgError && err.code === ErrorCode.Forbidden ? refuse(req, p, 'token_refused', err) : err;
    }
    const ttlRaw = (req.body as Record<string, unknown> | undefined)?.ttlSeconds;
    if (ttlRaw !== undefined && (!Number.isSafeInteger(ttlRaw) || (ttlRaw as number) < 1)) {
      throw sgError(ErrorCode.BadRequest, 'ttlSeconds must be an integer >= 1');
    }
    const ttl = Math.min((ttlRaw as number | undefined) ?? config.tokens.defaultTtlSeconds, config.tokens.maxTtlSeconds);
    const issued = await security.tokens!.sign(p.name, scopes, ttl);
    security.metrics.issued.inc({ kind: 'token' });
    audit(
      logger,
      'token_issued',
      { principal: p.name, remote: req.ip, ttlSeconds: ttl, admin: scopes.admin, publish: scopes.publish, subscribe: scopes.subscribe },
      scopes.admin ? 'warn' : 'info',
    );
    void reply.header('cache-control', 'no-store');
    return issued;
  });

  // The token a browser holds (Grafana direct mode, through the Viewer proxy route): never a publish
  // or admin scope whatever the key has, only the channels asked for, and a short life
  // (auth.tokens.readTokenTtlSeconds) the client refreshes. Body: {"channels"?: [names or patterns], "ttlSeconds"?}.
  app.post('/api/v1/read-token', access('subscribe', { keyOnly: true }), async (req, reply) => {
    requireAuthOn();
    const p = principalOf(req);
    const body = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw sgError(ErrorCode.BadRequest, 'body must be {"channels"?: [channel names or patterns], "ttlSeconds"?}');
    }
    const b = body as Record<string, unknown>;
    const key = p.scopes ?? NO_SCOPES;
    const subscribe = patterns(b.channels, 'channels') ?? [...key.subscribe];
    const exceeding = uncovered(key.subscribe, subscribe).map((c) => `subscribe ${c}`);
    if (exceeding.length) {
      throw refuse(
        req,
        p,
        'token_refused',
        sgError(ErrorCode.Forbidden, `requested channels exceed the key's subscribe scope: ${exceeding.join(', ')}`, {
          details: { exceeding },
        }),
      );
    }
    if (b.ttlSeconds !== undefined && (!Number.isSafeInteger(b.ttlSeconds) || (b.ttlSeconds as number) < 1)) {
      throw sgError(ErrorCode.BadRequest, 'ttlSeconds must be an integer >= 1');
    }
    const ttl = Math.min((b.ttlSeconds as number | undefined) ?? config.tokens.readTokenTtlSeconds, config.tokens.readTokenTtlSeconds);
    const scopes: Scopes = { publish: [], subscribe, admin: false };
    const issued = await security.tokens!.sign(p.name, scopes, ttl);
    security.metrics.issued.inc({ kind: 'token' });
    audit(
      logger,
      'token_issued',
      { principal: p.name, remote: req.ip, ttlSeconds: ttl, admin: false, publish: [], subscribe, read: true },
      'info',
    );
    void reply.header('cache-control', 'no-store');
    return issued;
  });

  // Tickets open SSE streams: only a caller that may subscribe to something needs one.
  app.post('/api/v1/stream-ticket', access('subscribe', { limit: 'ticket' }), async (req, reply) => {
    requireAuthOn();
    const p = principalOf(req);
    let t;
    try {
      t = security.tickets.issue(p);
    } catch (err) {
      security.metrics.rateLimited.inc({ kind: 'ticket' });
      void reply.header('retry-after', String(config.tokens.ticketTtlSeconds));
      throw err;
    }
    security.metrics.issued.inc({ kind: 'ticket' });
    audit(logger, 'ticket_issued', { principal: p.name, remote: req.ip }, 'info');
    void reply.header('cache-control', 'no-store');
    return t;
  });

  app.get('/api/v1/admin/keys', access('admin'), async (req) => {
    requireAuthOn();
    const p = principalOf(req);
    audit(logger, 'admin_keys_listed', { principal: p.name, remote: req.ip });
    return { keys: security.keys.all().map((k) => ({ name: k.name, scopes: k.scopes })) };
  });
}
