/**
 * Issue 12's high and medium items that hang on routes, each performed as the attack against a
 * real collector process: the status page leaking channels, the publish rate limit dodged through
 * another spelling of its path, one key exhausting SSE tickets, the browser's token carrying the
 * key's publish scope, and a Grafana viewer reaching publish/admin routes through the proxy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '@streamgauge/protocol';
import { type PluginRoute, matchRoute } from '../../../plugin/test-host/proxy-route';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { ADMIN_KEY, AUTH_ENV, PUB_KEY, READER_KEY, TOKEN_SECRET, authConfig, bearer, getJson } from './fixtures';
import { EXPECTED_ROUTES, concrete } from './expected-routes';
import { rawRequest } from './raw-http';

const NOSCOPE_KEY = 'noscope-key-0123456789abcdef';
const LIMITED_KEY = 'limited-key-0123456789abcdef';
const TICKET_KEY = 'ticket-key-0123456789abcdef';
const OTHER_TICKET_KEY = 'ticket2-key-0123456789abcdef';

const post = (url: string, headers: Record<string, string>, body: unknown = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(
    async (r) => ({ status: r.status, body: (await r.json()) as any, headers: r.headers }),
  );

const claims = (token: string): any => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

describe('route limits and narrow browser tokens (real collector)', () => {
  let sg: CollectorProcess;

  beforeAll(async () => {
    const cfg = authConfig({
      tokens: { secret: TOKEN_SECRET, maxTicketsPerKey: 2, readTokenTtlSeconds: 30 },
      // Refill so slow that no token comes back during the test: the counts below are exact.
      limits: { publishRequestsPerSecond: 0.001, publishBurst: 2, ticketsPerSecond: 0.001, ticketsBurst: 4 },
    });
    (cfg.keys as unknown[]).push(
      { name: 'noscope', key: NOSCOPE_KEY, scopes: {} },
      { name: 'limited', key: LIMITED_KEY, scopes: { publish: ['app/**'] } },
      { name: 'ticketer', key: TICKET_KEY, scopes: { subscribe: ['app/**'] } },
      { name: 'ticketer2', key: OTHER_TICKET_KEY, scopes: { subscribe: ['app/**'] } },
    );
    sg = await startCollector({ config: { auth: cfg }, env: AUTH_ENV });
    const messages = ['app/public/a', 'app/private/b', 'evm/secret/blocks'].map((channel) => ({ channel, data: { n: 1 } }));
    expect((await publish(sg.url, { messages }, bearer(ADMIN_KEY))).status).toBe(200);
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: /api/v1/status lists only the channels in the caller subscribe scope', async () => {
    const names = async (key: string) => (await getJson(`${sg.url}/api/v1/status`, bearer(key))).body.channels.map((c: any) => c.name);
    expect(await names(READER_KEY)).toEqual(['app/public/a']);
    expect(await names(NOSCOPE_KEY)).toEqual([]);
    expect(await names(ADMIN_KEY)).toEqual(['alerts/active', 'app/private/b', 'app/public/a', 'evm/secret/blocks']);
    expect((await getJson(`${sg.url}/api/v1/status`)).status).toBe(401);
  });

  test('behavior: the publish rate limit holds through /api/v1/publish/, /api/v1/%70ublish and an absolute-form request line', async () => {
    const body = JSON.stringify({ channel: 'app/lim', data: { n: 1 } });
    const h = { ...bearer(LIMITED_KEY), 'content-type': 'application/json' };
    const targets = ['/api/v1/publish/', '/api/v1/%70ublish', `http://127.0.0.1:${sg.port}/api/v1/publish`];
    const statuses: number[] = [];
    for (const t of targets) {
      statuses.push((await rawRequest(sg.port, 'POST', t, h, body)).status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    const again = await rawRequest(sg.port, 'POST', '/api/v1/%70ublish', h, body);
    expect([again.status, again.json().error.code]).toEqual([429, ErrorCode.RateLimited]);
    expect(Number(again.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  test('behavior: one key holds at most auth.tokens.maxTicketsPerKey unused tickets, and another key still gets its own', async () => {
    const mint = (key: string) => post(`${sg.url}/api/v1/stream-ticket`, bearer(key));
    const first = [await mint(TICKET_KEY), await mint(TICKET_KEY)];
    expect(first.map((r) => r.status)).toEqual([200, 200]);
    const over = await mint(TICKET_KEY);
    expect([over.status, over.body.error.code]).toEqual([429, ErrorCode.RateLimited]);
    expect(over.body.error.message).toContain('auth.tokens.maxTicketsPerKey = 2');
    expect((await mint(OTHER_TICKET_KEY)).status).toBe(200);
    // Using a ticket frees its place in the quota; the mint rate (burst 4) then refuses the fifth mint.
    for (const r of first) {
      const used = await getJson(`${sg.url}/api/v1/stream?ticket=${r.body.ticket}`);
      expect(used.body.error.code).toBe(ErrorCode.BadRequest); // authenticated, then: no channel named
    }
    expect((await mint(TICKET_KEY)).status).toBe(200);
    const fast = await mint(TICKET_KEY);
    expect([fast.status, fast.body.error.code]).toEqual([429, ErrorCode.RateLimited]);
    expect(fast.body.error.message).toContain('auth.limits.ticketsPerSecond');
  });

  test('behavior: a read token is subscribe-only, within the key, for the channels asked, and short-lived', async () => {
    const before = Date.now();
    const r = await post(`${sg.url}/api/v1/read-token`, bearer(PUB_KEY), { channels: ['app/public/*'], ttlSeconds: 3600 });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(claims(r.body.token).scp).toEqual({ publish: [], subscribe: ['app/public/*'], admin: false });
    expect(r.body.expiresAt).toBeLessThanOrEqual(before + 31_000);
    // The key may publish; its read token may not, anywhere.
    const pub = await publish(sg.url, { channel: 'app/public/a', data: { n: 2 } }, bearer(r.body.token));
    expect([pub.status, pub.body.error.code]).toEqual([403, ErrorCode.Forbidden]); // refused on the route: no publish scope
    expect((await getJson(`${sg.url}/api/v1/messages?channel=app/public/a`, bearer(r.body.token))).status).toBe(200);
    expect((await getJson(`${sg.url}/api/v1/messages?channel=app/private/b`, bearer(r.body.token))).status).toBe(404);
    // Default channels: the key's subscribe scope; an admin key still gets no admin or publish scope.
    const admin = await post(`${sg.url}/api/v1/read-token`, bearer(ADMIN_KEY));
    expect(claims(admin.body.token).scp).toEqual({ publish: [], subscribe: ['**'], admin: false });
  });

  test('behavior: a read token beyond the key, for a key with no subscribe scope, or minted with a token is refused (403)', async () => {
    const wide = await post(`${sg.url}/api/v1/read-token`, bearer(READER_KEY), { channels: ['evm/**'] });
    expect([wide.status, wide.body.error.code, wide.body.error.details]).toEqual([
      403,
      ErrorCode.Forbidden,
      { exceeding: ['subscribe evm/**'] },
    ]);
    const none = await post(`${sg.url}/api/v1/read-token`, bearer(NOSCOPE_KEY));
    expect([none.status, none.body.error.code]).toEqual([403, ErrorCode.Forbidden]);
    const token = (await post(`${sg.url}/api/v1/read-token`, bearer(READER_KEY))).body.token;
    const again = await post(`${sg.url}/api/v1/read-token`, bearer(token));
    expect([again.status, again.body.error.code]).toEqual([403, ErrorCode.Forbidden]);
    const bad = await post(`${sg.url}/api/v1/read-token`, bearer(READER_KEY), { channels: 'app/**' });
    expect([bad.status, bad.body.error.code]).toEqual([400, ErrorCode.BadRequest]);
  });

  describe('Grafana data source proxy (plugin.json routes, as pkg/api/pluginproxy/ds_proxy.go validateRequest applies them)', () => {
    const routes = (
      JSON.parse(readFileSync(join(__dirname, '../../../plugin/src/plugin.json'), 'utf8')) as {
        routes: (PluginRoute & { reqRole?: string })[];
      }
    ).routes;
    const ROLES = ['Viewer', 'Editor', 'Admin'];
    /** validateRequest: the first route whose method matches and whose path prefixes wins; then its reqRole is checked. */
    const grafanaAllows = (role: string, method: string, proxyPath: string): PluginRoute | undefined => {
      const r = matchRoute(routes, proxyPath, method) as (PluginRoute & { reqRole?: string }) | undefined;
      return r && ROLES.indexOf(role) >= ROLES.indexOf(r.reqRole ?? 'Viewer') ? r : undefined;
    };

    test('behavior: a signed-in Viewer reaches exactly the read, subscribe and read-token routes; everything else needs Admin', () => {
      const viewer: string[] = [];
      for (const key of Object.keys(EXPECTED_ROUTES)) {
        const [method, url] = key.split(' ');
        if (grafanaAllows('Viewer', method, `sg${concrete(url)}`)) {
          viewer.push(key);
        }
        expect(grafanaAllows('Admin', method, `sg${concrete(url)}`)).toBeDefined();
      }
      expect(viewer.sort()).toEqual(
        [
          'GET /api/v1/channels',
          'GET /api/v1/channels/*',
          'GET /api/v1/messages',
          'GET /api/v1/snapshot',
          'GET /api/v1/status',
          'GET /api/v1/stream',
          'GET /readyz',
          'POST /api/v1/read-token',
          'POST /api/v1/stream-ticket',
        ].sort(),
      );
      expect(grafanaAllows('Viewer', 'GET', 'sg/ws')).toBeDefined();
    });

    test('behavior: a Viewer cannot reach publish, the webhook, token minting or admin routes by another spelling either', () => {
      const attempts: [string, string][] = [
        ['POST', 'sg/api/v1/publish'],
        ['POST', 'sg/api/v1/%70ublish'],
        ['POST', 'sg/api/v1/channels/../publish'],
        ['POST', 'sg/api/v1/alerts/webhook'],
        ['POST', 'sg/api/v1/token'],
        ['GET', 'sg/api/v1/admin/keys'],
        ['GET', 'sg/api/v1/%61dmin/keys'],
        ['POST', 'sg/api/v1/messages'],
        ['PUT', 'sg/api/v1/channels'],
      ];
      for (const [method, path] of attempts) {
        expect([method, path, grafanaAllows('Viewer', method, path)]).toEqual([method, path, undefined]);
      }
    });

    test('behavior: what a Viewer reaches works against the collector with the data source key, and stays read-only', async () => {
      // The route's url plus the rest of the path (ApplyRoute), with the route's Authorization header.
      const forward = async (method: string, proxyPath: string, body?: unknown) => {
        const r = grafanaAllows('Viewer', method, proxyPath)!;
        const rest = proxyPath.slice(r.path.length);
        const url = r.url!.replace('{{ .JsonData.collectorUrl }}', sg.url) + rest;
        return method === 'POST' ? post(url, bearer(PUB_KEY), body ?? {}) : getJson(url, bearer(PUB_KEY));
      };
      expect((await forward('GET', 'sg/api/v1/channels')).status).toBe(200);
      expect((await forward('GET', 'sg/api/v1/channels/app/public/a')).status).toBe(200);
      expect((await forward('GET', 'sg/api/v1/messages?channel=app/public/a')).status).toBe(200);
      const t = await forward('POST', 'sg/api/v1/read-token', { channels: ['app/public/*'] });
      expect(t.status).toBe(200);
      expect(claims(t.body.token).scp.publish).toEqual([]);
    });
  });
});
