/** Unit tests of the small pure pieces: scope matching and covering, token buckets, bounded maps, tickets. */
import { ANONYMOUS } from '../../src/auth/principal';
import { inScope, patternCovers, principalFromScopes, uncovered } from '../../src/auth/scopes';
import { TicketStore } from '../../src/auth/stream-tickets';
import { KeyStore, sha256 } from '../../src/auth/key-store';
import { credentialOf } from '../../src/auth/key-authenticator';
import { KeyedLimiter } from '../../src/limits/keyed-limiter';
import { TokenBucket } from '../../src/limits/token-bucket';
import { FrameLimiter } from '../../src/limits/connection-guard';
import { AUTH_DEFAULTS } from '../../src/auth/config';
import { requestedScopes } from '../../src/http/token-routes';
import { ErrorCode } from '@streamgauge/protocol';
import { resolveConfig } from '../../src/collector-config';

describe('scopes', () => {
  test.each([
    [['app/**'], 'app/a', true],
    [['app/**'], 'app/a/b', true],
    [['app/**'], 'app', false],
    [['app/*'], 'app/a/b', false],
    [['app/public/*'], 'app/public/x', true],
    [['app/public/*'], 'app/private/x', false],
    [['**'], 'anything/at/all', true],
    [['app/a'], 'app/a', true],
    [[], 'app/a', false],
  ])('behavior: %j in scope of %s is %s', (patterns, channel, expected) => {
    expect(inScope(patterns as string[], channel as string)).toBe(expected);
  });

  test.each([
    ['app/**', 'app/x/*', true],
    ['app/**', 'app/**', true],
    ['app/*', 'app/**', false],
    ['app/*', 'app/x', true],
    ['**', 'a/b/**', true],
    ['app/public/*', 'app/*', false],
    ['app/x', 'app/*', false],
  ])('behavior: %s covers %s is %s', (outer, inner, expected) => {
    expect(patternCovers(outer, inner)).toBe(expected);
  });

  test('behavior: uncovered lists only the requested patterns outside the grant', () => {
    expect(uncovered(['app/**'], ['app/a', 'other/b', 'app/*'])).toEqual(['other/b']);
  });

  test('behavior: a principal from scopes decides publish and subscribe separately', () => {
    const p = principalFromScopes('k', { publish: ['app/in/*'], subscribe: ['app/**'], admin: false }, 'key');
    expect([p.canPublish('app/in/a'), p.canPublish('app/out/a'), p.canSubscribe('app/out/a'), p.admin]).toEqual([true, false, true, false]);
    expect(ANONYMOUS.canPublish('x')).toBe(true);
  });

  test('behavior: a token request wider than the key is refused with SG_FORBIDDEN, malformed with SG_BAD_REQUEST', () => {
    const key = { publish: ['app/**'], subscribe: ['app/**'], admin: false };
    expect(requestedScopes({ scopes: { subscribe: ['app/x'] } }, key)).toEqual({ publish: ['app/**'], subscribe: ['app/x'], admin: false });
    expect(() => requestedScopes({ scopes: { subscribe: ['evm/**'] } }, key)).toThrow(
      expect.objectContaining({ code: ErrorCode.Forbidden }),
    );
    expect(() => requestedScopes({ scopes: { admin: true } }, key)).toThrow(expect.objectContaining({ code: ErrorCode.Forbidden }));
    expect(() => requestedScopes({ scopes: { publish: 'app/x' } }, key)).toThrow(expect.objectContaining({ code: ErrorCode.BadRequest }));
    expect(() => requestedScopes([], key)).toThrow(expect.objectContaining({ code: ErrorCode.BadRequest }));
  });
});

describe('credentials in headers', () => {
  test.each([
    [{ authorization: 'Bearer abc' }, 'abc'],
    [{ authorization: 'bearer  abc ' }, 'abc'],
    [{ 'x-api-key': ' abc ' }, 'abc'],
    [{ authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'abc' }, 'abc'],
    [{ authorization: 'Bearer abc', 'x-api-key': 'def' }, 'abc'],
    [{ authorization: 'Basic dXNlcjpwYXNz' }, ''],
    [{}, undefined],
  ])('behavior: %j gives %j', (headers, expected) => {
    expect(credentialOf(headers)).toBe(expected);
  });
});

describe('key store', () => {
  test('behavior: finds keys given in clear or as a sha256 hash, and nothing else', () => {
    const ks = new KeyStore([
      { name: 'a', key: 'aaaaaaaaaaaaaaaa', scopes: {} },
      { name: 'b', keyHash: sha256('bbbbbbbbbbbbbbbb').toString('hex'), scopes: { admin: true } },
    ]);
    expect(ks.find('aaaaaaaaaaaaaaaa')?.name).toBe('a');
    expect(ks.find('bbbbbbbbbbbbbbbb')?.scopes.admin).toBe(true);
    expect(ks.find('aaaaaaaaaaaaaaab')).toBeUndefined();
    expect(ks.find('')).toBeUndefined();
  });
});

describe('rate limiters', () => {
  test('behavior: a token bucket allows the burst, then refills at the rate', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0), b.take(0)]).toEqual([true, true, true, false]);
    expect(b.retryAfterMs(0)).toBe(100);
    expect(b.take(100)).toBe(true);
    expect(b.take(100)).toBe(false);
  });

  test('behavior: the keyed limiter never tracks more than maxKeys keys', () => {
    const l = new KeyedLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) {
      l.take(`10.0.${i >> 8}.${i & 255}`, 0);
    }
    expect(l.size).toBe(100);
  });

  test('behavior: the keyed limiter limits each key on its own', () => {
    const l = new KeyedLimiter({ ratePerSecond: 1, burst: 2, maxKeys: 10 });
    expect([l.take('a', 0).ok, l.take('a', 0).ok, l.take('a', 0).ok, l.take('b', 0).ok]).toEqual([true, true, false, true]);
    expect(l.take('a', 0)).toEqual({ ok: false, retryAfterMs: 1000 });
  });

  test('behavior: a rate of 0 turns a limiter off', () => {
    const l = new KeyedLimiter({ ratePerSecond: 0, burst: 1, maxKeys: 1 });
    for (let i = 0; i < 100; i++) {
      expect(l.take('a').ok).toBe(true);
    }
  });

  test('behavior: the frame limiter refuses once loudly, then quietly, then closes after wsMaxRefusedFrames', () => {
    const f = new FrameLimiter({ ...AUTH_DEFAULTS.limits, wsMessagesPerSecond: 1, wsMessagesBurst: 1, wsMaxRefusedFrames: 3 });
    const now = Date.now();
    expect([f.take(now), f.take(now), f.take(now), f.take(now)]).toEqual(['accept', 'refuse', 'refuse-quietly', 'close']);
  });
});

describe('stream tickets', () => {
  test('behavior: a ticket works once and not after its ttl', () => {
    const t = new TicketStore(30_000, 10);
    const a = t.issue(ANONYMOUS, 0);
    expect(t.consume(a.ticket, 1)).toBe(ANONYMOUS);
    expect(t.consume(a.ticket, 2)).toBeUndefined();
    const b = t.issue(ANONYMOUS, 0);
    expect(t.consume(b.ticket, 30_000)).toBeUndefined();
  });

  test('behavior: the store is bounded: beyond maxTickets minting fails with SG_RATE_LIMITED until tickets expire', () => {
    const t = new TicketStore(1000, 3);
    for (let i = 0; i < 3; i++) {
      t.issue(ANONYMOUS, 0);
    }
    expect(() => t.issue(ANONYMOUS, 10)).toThrow(expect.objectContaining({ code: ErrorCode.RateLimited }));
    expect(t.issue(ANONYMOUS, 1000).ticket).toEqual(expect.any(String));
    expect(t.size).toBe(1);
  });

  test('behavior: a ticket never outlives the token it was minted with', () => {
    const t = new TicketStore(30_000, 10);
    const p = principalFromScopes('k', { publish: [], subscribe: ['**'], admin: false }, 'token', 5_000);
    expect(t.issue(p, 0).expiresAt).toBe(5_000);
  });
});

describe('auth config', () => {
  test('behavior: keyEnv, SG_TOKEN_SECRET and SG_METRICS_TOKEN are resolved from the environment passed in', () => {
    const c = resolveConfig(
      { auth: { keys: [{ name: 'k', keyEnv: 'MY_KEY', scopes: { subscribe: ['**'] } }] } },
      { MY_KEY: 'k'.repeat(20), SG_TOKEN_SECRET: 's'.repeat(40), SG_METRICS_TOKEN: 'm'.repeat(20), SG_METRICS_PORT: '9464' },
    );
    expect(c.auth.keys[0].key).toBe('k'.repeat(20));
    expect(c.auth.keys[0].keyEnv).toBeUndefined();
    expect(c.auth.tokens.secret).toBe('s'.repeat(40));
    expect(c.auth.metrics).toMatchObject({ bearerToken: 'm'.repeat(20), port: 9464 });
    expect(Object.isFrozen(c.auth.keys[0])).toBe(true);
  });

  test('behavior: a short HS256 secret, a missing PEM file and an unknown option fail with messages naming them', () => {
    expect(() => resolveConfig({ auth: { tokens: { secret: 'short' } } })).toThrow(
      'auth.tokens.secret: an HS256 secret needs at least 32 characters',
    );
    expect(() => resolveConfig({ auth: { tokens: { algorithm: 'ES256', privateKeyFile: '/nonexistent.key' } } })).toThrow(
      /cannot read \/nonexistent.key[\s\S]*publicKeyFile: required for ES256/,
    );
    expect(() => resolveConfig({ auth: { limits: { wsMessagesPerSec: 1 } } })).toThrow('unknown option "wsMessagesPerSec"');
  });
});
