/**
 * Authorization is decided on the matched route, default deny. The route table comes from
 * fastify itself (the onRoute hook behind StreamgaugeApp.routes), so a route added later is
 * walked too: it fails here until its expected access is written below. Then every route is
 * called on a real collector process over raw sockets, with no key, a wrong key and each scope,
 * and through every path an attacker could use to dodge a URL prefix check: percent-encoded
 * segments, absolute-form request lines, a trailing slash.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@streamgauge/protocol';
import { buildApp } from '../../src/app';
import { resolveConfig } from '../../src/collector-config';
import type { RouteEntry } from '../../src/http/authorize';
import type { RouteAccess, RouteScope } from '../../src/http/route-access';
import { createLogger } from '../../src/logger';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { ADMIN_KEY, AUTH_ENV, PUB_KEY, READER_KEY, TOKEN_SECRET, authConfig, bearer, mintToken } from './fixtures';
import { rawRequest } from './raw-http';
import { EXPECTED_ROUTES as EXPECTED, accessLabel, concrete } from './expected-routes';

const NOSCOPE_KEY = 'noscope-key-0123456789abcdef';
const PUBONLY_KEY = 'pubonly-key-0123456789abcdef';

/** Every way of writing `path` that a router decodes to the same route. */
function disguises(path: string, port: number): string[] {
  const segs = path.split('/');
  const out = [`http://127.0.0.1:${port}${path}`, `${path}/`];
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i];
    for (const j of [0, s.length - 1]) {
      const code = `%${s.charCodeAt(j).toString(16).padStart(2, '0')}`;
      const enc = [...segs];
      enc[i] = s.slice(0, j) + code + s.slice(j + 1);
      out.push(enc.join('/'));
    }
  }
  return out;
}

describe('authorization on the matched route, default deny (real collector)', () => {
  let sg: CollectorProcess;
  let routes: RouteEntry[];
  let adminToken: string;

  beforeAll(async () => {
    const cfg = authConfig({ tokens: { secret: TOKEN_SECRET } });
    (cfg.keys as unknown[]).push(
      { name: 'noscope', key: NOSCOPE_KEY, scopes: {} },
      { name: 'pubonly', key: PUBONLY_KEY, scopes: { publish: ['app/**'] } },
    );
    // The route table, from fastify, of an app built from the same config.
    const dir = mkdtempSync(join(tmpdir(), 'sg-routes-'));
    try {
      const inProcess = await buildApp(resolveConfig({ auth: cfg, store: { path: join(dir, 'sg.db') } }, AUTH_ENV), {
        logger: createLogger('silent'),
        sources: [],
      });
      await inProcess.app.ready(); // plugins registered with app.register add their routes now
      routes = [...inProcess.routes];
      await inProcess.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    sg = await startCollector({ config: { auth: cfg }, env: { ...AUTH_ENV, SG_LOG_LEVEL: 'info' } });
    expect((await publish(sg.url, { channel: 'app/public/a', data: { n: 1 } }, bearer(PUB_KEY))).status).toBe(200);
    adminToken = (await mintToken(sg.url, ADMIN_KEY, { scopes: { admin: true } })).body.token;
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: every registered route declares its access, and it is the expected one', () => {
    const got: Record<string, string> = {};
    for (const r of routes) {
      if (r.method === 'HEAD') {
        // fastify's automatic HEAD twin of a GET route shares its config.
        expect(r.access).toEqual(routes.find((g) => g.method === 'GET' && g.url === r.url)?.access);
        continue;
      }
      got[`${r.method} ${r.url}`] = accessLabel(r.access);
    }
    expect(got).toEqual(EXPECTED);
  });

  test('behavior: a route without an access declaration cannot be registered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-routes-'));
    const sgApp = await buildApp(resolveConfig({ store: { path: join(dir, 'sg.db') } }, {}), {
      logger: createLogger('silent'),
      sources: [],
    });
    try {
      expect(() => sgApp.app.get('/api/v1/forgotten', async () => ({ secret: true }))).toThrow(
        'route GET /api/v1/forgotten declares no access: add config.access (collector/src/http/route-access.ts)',
      );
    } finally {
      await sgApp.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** The principals of the walk, and what each may pass. */
  const callers: { name: string; headers: () => Record<string, string>; token?: boolean; scopes: RouteScope[] }[] = [
    { name: 'no key', headers: () => ({}), scopes: ['public'] },
    { name: 'a wrong key', headers: () => bearer('wrong-key-0123456789abcdef'), scopes: ['public'] },
    { name: 'a key with no scopes', headers: () => bearer(NOSCOPE_KEY), scopes: ['public', 'any'] },
    { name: 'a publish-only key', headers: () => bearer(PUBONLY_KEY), scopes: ['public', 'any', 'publish'] },
    { name: 'a subscribe-only key', headers: () => bearer(READER_KEY), scopes: ['public', 'any', 'subscribe'] },
    { name: 'an admin key', headers: () => bearer(ADMIN_KEY), scopes: ['public', 'any', 'publish', 'subscribe', 'admin'] },
    { name: 'an admin token', headers: () => bearer(adminToken), token: true, scopes: ['public', 'any', 'publish', 'subscribe', 'admin'] },
  ];
  const passes = (c: (typeof callers)[number], a: RouteAccess): boolean => c.scopes.includes(a.scope) && !(a.keyOnly && c.token);

  test.each(callers.map((c) => [c.name, c] as const))(
    'behavior: walking every route with %s: refused exactly where its scope says',
    async (_n, caller) => {
      const outcomes: string[] = [];
      const wanted: string[] = [];
      for (const r of routes) {
        const res = await rawRequest(sg.port, r.method, concrete(r.url), caller.headers());
        const refused = res.status === 401 || res.status === 403;
        outcomes.push(`${r.method} ${r.url}: ${refused ? 'refused' : 'passed'}`);
        wanted.push(`${r.method} ${r.url}: ${passes(caller, r.access) ? 'passed' : 'refused'}`);
        if (refused && !passes(caller, r.access) && r.method !== 'HEAD') {
          const anonymous = Object.keys(caller.headers()).length === 0 || caller.name === 'a wrong key';
          expect([res.status, res.json().error.code]).toEqual(anonymous ? [401, ErrorCode.Unauthorized] : [403, ErrorCode.Forbidden]);
        }
      }
      expect(outcomes).toEqual(wanted);
    },
  );

  test('behavior: encoded paths, absolute-form request lines and trailing slashes reach the same rules (no key: 401 on every protected route)', async () => {
    const leaks: string[] = [];
    for (const r of routes.filter((x) => x.access.scope !== 'public' && x.method !== 'HEAD')) {
      for (const target of disguises(concrete(r.url), sg.port)) {
        const res = await rawRequest(sg.port, r.method, target);
        // 401 when the router matched the route; 404/400 when it did not: anything else is a leak.
        if (![401, 404, 400].includes(res.status)) {
          leaks.push(`${r.method} ${target}: ${res.status} ${res.body.slice(0, 80)}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  });

  test('behavior: the attacks from issue 12 are refused: /%61pi/, /a%70i/, /ap%69/ and absolute-form, with no key and with a narrow key', async () => {
    const attacks: [string, string][] = [
      ['GET', '/%61pi/v1/messages?channel=app/public/a'],
      ['GET', '/a%70i/v1/messages?channel=app/public/a'],
      ['GET', '/ap%69/v1/admin/keys'],
      ['POST', '/%61pi/v1/publish'],
      ['GET', '/%61pi/v1/admin/keys'],
      ['POST', '/%61pi/v1/alerts/webhook'],
      ['POST', '/%61pi/v1/stream-ticket'],
      ['GET', `http://127.0.0.1:${sg.port}/api/v1/admin/keys`],
      ['GET', '/%61pi/v1/stream?channels=**'],
    ];
    for (const [method, target] of attacks) {
      const res = await rawRequest(sg.port, method, target);
      expect([method, target, res.status, res.json().error.code]).toEqual([method, target, 401, ErrorCode.Unauthorized]);
    }
    // A key limited to app/public/* gets nothing more through a disguised path.
    const admin = await rawRequest(sg.port, 'GET', '/%61pi/v1/admin/keys', bearer(READER_KEY));
    expect([admin.status, admin.json().error.code]).toEqual([403, ErrorCode.Forbidden]);
    const pub = await rawRequest(
      sg.port,
      'POST',
      '/%61pi/v1/publish',
      { ...bearer(READER_KEY), 'content-type': 'application/json' },
      JSON.stringify({ channel: 'app/public/a', data: { n: 2 } }),
    );
    expect([pub.status, pub.json().error.code]).toEqual([403, ErrorCode.Forbidden]);
    const hidden = await rawRequest(sg.port, 'GET', '/a%70i/v1/messages?channel=app/x', bearer(READER_KEY));
    expect(hidden.status).toBe(404);
  });
});
