/**
 * Token signing with key pairs (ES256, RS256) against real collector processes, the open mode's
 * answer to token requests, and the audit rate (a pure piece).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@streamgauge/protocol';
import { AUDIT_BURST, audit } from '../../src/auth/audit';
import type { Logger } from '../../src/logger';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { PUB_KEY, bearer, getJson, mintToken, sample } from './fixtures';

const dir = mkdtempSync(join(tmpdir(), 'sg-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writePair(alg: 'ES256' | 'RS256'): { privateKeyFile: string; publicKeyFile: string } {
  const { privateKey, publicKey } =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyFile = join(dir, `${alg}.key`);
  const publicKeyFile = join(dir, `${alg}.pub`);
  writeFileSync(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKeyFile, publicKeyFile };
}

describe.each(['ES256', 'RS256'] as const)('tokens signed with %s (real collector)', (alg) => {
  let sg: CollectorProcess;

  beforeAll(async () => {
    sg = await startCollector({
      config: {
        auth: {
          keys: [{ name: 'publisher', key: PUB_KEY, scopes: { publish: ['app/**'], subscribe: ['app/**'] } }],
          tokens: { algorithm: alg, ...writePair(alg) },
        },
      },
    });
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test(`behavior: a ${alg} token carries alg ${alg} and authenticates REST and the WebSocket auth frame`, async () => {
    const t = await mintToken(sg.url, PUB_KEY, { ttlSeconds: 60 });
    expect(t.status).toBe(200);
    const header = JSON.parse(Buffer.from(t.body.token.split('.')[0], 'base64url').toString());
    expect(header.alg).toBe(alg);
    expect((await publish(sg.url, { channel: 'app/alg', data: { n: 1 } }, bearer(t.body.token))).status).toBe(200);
    const c = await WsTestClient.connect(sg.wsUrl);
    try {
      c.send({ op: 'auth', id: 1, token: t.body.token });
      expect(await c.waitFor((f) => f.id === 1)).toMatchObject({ type: 'auth_ok', expiresAt: t.body.expiresAt });
      expect((await c.subscribe('app/alg')).type).toBe('subscribed');
    } finally {
      c.close();
    }
  });

  test(`behavior: an HS256 token forged with the ${alg} public key as secret is refused (algorithm pinned)`, async () => {
    const { createHmac } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const pub = readFileSync(join(dir, `${alg}.pub`), 'utf8');
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub: 'publisher', iss: 'streamgauge', iat: now, exp: now + 60, scp: { publish: ['app/**'], subscribe: [], admin: false } })}`;
    const forged = `${unsigned}.${createHmac('sha256', pub).update(unsigned).digest('base64url')}`;
    const r = await publish(sg.url, { channel: 'app/alg', data: { n: 2 } }, bearer(forged));
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe(ErrorCode.Unauthorized);
    const none = `${enc({ alg: 'none', typ: 'JWT' })}.${unsigned.split('.')[1]}.`;
    expect((await publish(sg.url, { channel: 'app/alg', data: { n: 3 } }, bearer(none))).status).toBe(401);
  });
});

describe('auth off (real collector)', () => {
  let sg: CollectorProcess;

  beforeAll(async () => {
    sg = await startCollector();
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: with no keys, POST /api/v1/token and /api/v1/stream-ticket answer 404 SG_NOT_FOUND, and publishing is open and unthrottled', async () => {
    const t = await mintToken(sg.url, 'anything-0123456789', {});
    expect(t.status).toBe(404);
    expect(t.body.error.code).toBe(ErrorCode.NotFound);
    const r = await fetch(`${sg.url}/api/v1/stream-ticket`, { method: 'POST' });
    expect(r.status).toBe(404);
    // No keys, no per-key publish limit: more requests than the default burst (200) all pass.
    for (let i = 0; i < 250; i++) {
      expect((await publish(sg.url, { channel: 'app/open', data: { n: i } })).status).toBe(200);
    }
    const m = await getJson(`${sg.url}/metrics`);
    expect(sample(m.body, 'streamgauge_auth_failures_total{transport="http",reason="missing"}')).toBe(0);
  });
});

describe('audit rate', () => {
  test('behavior: audit lines over the rate are dropped and reported once in an audit_suppressed line', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = {
      warn: (o: Record<string, unknown>) => lines.push(o),
      info: (o: Record<string, unknown>) => lines.push(o),
    } as unknown as Logger;
    for (let i = 0; i < AUDIT_BURST + 50; i++) {
      audit(logger, 'auth_refused', { transport: 'http', reason: 'invalid', token: 'secret-token' });
    }
    expect(lines.length).toBe(AUDIT_BURST);
    expect(lines.every((l) => l.token === undefined && l.audit === true)).toBe(true);
    return new Promise<void>((resolve) => {
      setTimeout(() => {
        audit(logger, 'auth_refused', { transport: 'http', reason: 'invalid' });
        const suppressed = lines.find((l) => l.event === 'audit_suppressed');
        expect(suppressed?.suppressed).toBeGreaterThanOrEqual(50);
        resolve();
      }, 100);
    });
  });
});
