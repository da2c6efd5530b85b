/**
 * API keys, scopes and tokens over REST against a real collector process: each scope decision,
 * token minting (subset, admin, ttl cap), tokens as bearer, the admin route, audit lines.
 */
import { ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { ADMIN_KEY, AUTH_ENV, PUB_KEY, READER_KEY, TOKEN_SECRET, authConfig, bearer, getJson, mintToken, sample } from './fixtures';

describe('API keys and tokens over REST (real collector)', () => {
  let sg: CollectorProcess;

  beforeAll(async () => {
    sg = await startCollector({
      config: { auth: authConfig({ tokens: { secret: TOKEN_SECRET, maxTtlSeconds: 120 } }) },
      env: { ...AUTH_ENV, SG_LOG_LEVEL: 'info' },
    });
    // A channel for the readers.
    expect((await publish(sg.url, { channel: 'app/public/a', data: { n: 1 } }, bearer(PUB_KEY))).status).toBe(200);
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: a publish with no key is refused with 401 SG_UNAUTHORIZED', async () => {
    const r = await publish(sg.url, { channel: 'app/x', data: { n: 1 } });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe(ErrorCode.Unauthorized);
  });

  test('behavior: every REST answer, refusals included, carries nosniff and a deny-all CSP', async () => {
    for (const r of [await getJson(`${sg.url}/api/v1/channels`), await getJson(`${sg.url}/api/v1/channels`, bearer(READER_KEY))]) {
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });

  test('behavior: a publish with a wrong key is refused with 401 SG_UNAUTHORIZED', async () => {
    const r = await publish(sg.url, { channel: 'app/x', data: { n: 1 } }, bearer('not-a-key-0123456789'));
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe(ErrorCode.Unauthorized);
  });

  test('behavior: a key with the publish scope publishes, by Authorization: Bearer or by X-API-Key', async () => {
    expect((await publish(sg.url, { channel: 'app/x', data: { n: 1 } }, bearer(PUB_KEY))).status).toBe(200);
    expect((await publish(sg.url, { channel: 'app/x', data: { n: 2 } }, { 'x-api-key': PUB_KEY })).status).toBe(200);
  });

  test('behavior: a publish outside the key publish scope is refused with 403 SG_FORBIDDEN and nothing is stored', async () => {
    const r = await publish(
      sg.url,
      {
        messages: [
          { channel: 'app/y', data: { n: 1 } },
          { channel: 'evm/y', data: { n: 1 } },
        ],
      },
      bearer(PUB_KEY),
    );
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe(ErrorCode.Forbidden);
    const h = await getJson(`${sg.url}/api/v1/messages?channel=app/y`, bearer(ADMIN_KEY));
    expect(h.body.error?.code).toBe(ErrorCode.UnknownChannel);
  });

  test('behavior: a key with no publish scope cannot publish at all (SG_FORBIDDEN)', async () => {
    const r = await publish(sg.url, { channel: 'app/public/a', data: { n: 2 } }, bearer(READER_KEY));
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe(ErrorCode.Forbidden);
  });

  test('behavior: channels and history outside the subscribe scope are invisible (SG_UNKNOWN_CHANNEL)', async () => {
    const list = await getJson(`${sg.url}/api/v1/channels`, bearer(READER_KEY));
    expect(list.body.channels.map((c: { name: string }) => c.name)).toEqual(['app/public/a']);
    const hidden = await getJson(`${sg.url}/api/v1/messages?channel=app/x`, bearer(READER_KEY));
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe(ErrorCode.UnknownChannel);
    const visible = await getJson(`${sg.url}/api/v1/messages?channel=app/public/a`, bearer(READER_KEY));
    expect(visible.status).toBe(200);
  });

  test('behavior: a token limited to a subset of the key scopes works as a bearer, within its scopes only', async () => {
    const t = await mintToken(sg.url, PUB_KEY, { scopes: { publish: ['app/tok/*'], subscribe: [] }, ttlSeconds: 60 });
    expect(t.status).toBe(200);
    expect(t.body.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    expect((await publish(sg.url, { channel: 'app/tok/a', data: { n: 1 } }, bearer(t.body.token))).status).toBe(200);
    const outside = await publish(sg.url, { channel: 'app/x', data: { n: 1 } }, bearer(t.body.token));
    expect(outside.status).toBe(403);
    expect(outside.body.error.code).toBe(ErrorCode.Forbidden);
  });

  test('behavior: asking for scopes beyond the key is refused with 403 SG_FORBIDDEN', async () => {
    const t = await mintToken(sg.url, PUB_KEY, { scopes: { subscribe: ['evm/**'] } });
    expect(t.status).toBe(403);
    expect(t.body.error.code).toBe(ErrorCode.Forbidden);
  });

  test('behavior: an admin token needs an admin key', async () => {
    const refused = await mintToken(sg.url, PUB_KEY, { scopes: { admin: true } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe(ErrorCode.Forbidden);
    const ok = await mintToken(sg.url, ADMIN_KEY, { scopes: { admin: true } });
    expect(ok.status).toBe(200);
    const keys = await getJson(`${sg.url}/api/v1/admin/keys`, bearer(ok.body.token));
    expect(keys.status).toBe(200);
    expect(keys.body.keys.map((k: { name: string }) => k.name).sort()).toEqual(['ops', 'publisher', 'reader']);
    expect(JSON.stringify(keys.body)).not.toContain(PUB_KEY);
  });

  test('behavior: the admin route refuses a key without the admin scope with 403 SG_FORBIDDEN', async () => {
    const r = await getJson(`${sg.url}/api/v1/admin/keys`, bearer(PUB_KEY));
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe(ErrorCode.Forbidden);
  });

  test('behavior: a token cannot mint another token (SG_FORBIDDEN)', async () => {
    const t = await mintToken(sg.url, PUB_KEY, {});
    const again = await mintToken(sg.url, t.body.token, {});
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe(ErrorCode.Forbidden);
  });

  test('behavior: the token life is capped by auth.tokens.maxTtlSeconds', async () => {
    const before = Date.now();
    const t = await mintToken(sg.url, PUB_KEY, { ttlSeconds: 86_400 });
    expect(t.status).toBe(200);
    expect(t.body.expiresAt).toBeLessThanOrEqual(before + 121_000);
  });

  test('behavior: a malformed token request is refused with 400 SG_BAD_REQUEST', async () => {
    expect((await mintToken(sg.url, PUB_KEY, { ttlSeconds: -1 })).body.error.code).toBe(ErrorCode.BadRequest);
    expect((await mintToken(sg.url, PUB_KEY, { scopes: { publish: ['Not A Pattern'] } })).body.error.code).toBe(ErrorCode.BadRequest);
  });

  test('behavior: a tampered token is refused with 401 SG_UNAUTHORIZED', async () => {
    const t = await mintToken(sg.url, PUB_KEY, {});
    const [h, p, s] = t.body.token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.scp.publish = ['**'];
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    const r = await publish(sg.url, { channel: 'evm/x', data: { n: 1 } }, bearer(forged));
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe(ErrorCode.Unauthorized);
  });

  test('behavior: refusals are counted by transport and reason, and audit lines never hold a key or token', async () => {
    await publish(sg.url, { channel: 'app/x', data: { n: 1 } }, bearer('wrong-key-0123456789'));
    const m = await getJson(`${sg.url}/metrics`, bearer(PUB_KEY));
    expect(sample(m.body, 'streamgauge_auth_failures_total{transport="http",reason="invalid"}')).toBeGreaterThanOrEqual(2);
    expect(sample(m.body, 'streamgauge_auth_failures_total{transport="http",reason="missing"}')).toBeGreaterThanOrEqual(1);
    expect(sample(m.body, 'streamgauge_tokens_issued_total{kind="token"}')).toBeGreaterThanOrEqual(4);
    const out = sg.output();
    const auditLines = out.split('\n').filter((l) => l.includes('"audit":true'));
    expect(auditLines.some((l) => l.includes('"event":"auth_refused"'))).toBe(true);
    expect(
      auditLines.some((l) => l.includes('"event":"token_issued"') && l.includes('"principal":"ops"') && l.includes('"admin":true')),
    ).toBe(true);
    expect(auditLines.some((l) => l.includes('"event":"admin_keys_listed"'))).toBe(true);
    for (const secret of [PUB_KEY, READER_KEY, ADMIN_KEY, TOKEN_SECRET, 'wrong-key-0123456789', 'eyJ']) {
      expect(out).not.toContain(secret);
    }
  });
});
