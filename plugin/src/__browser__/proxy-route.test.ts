/**
 * @jest-environment ./src/__browser__/node-environment.js
 */
/**
 * The test host's copy of Grafana's data source proxy routing (plugin/test-host/proxy-route.ts),
 * checked against the cases of Grafana's pkg/api/pluginproxy tests, and against this plugin's own
 * plugin.json route, so that the browser test exercises the paths Grafana would use.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDataSourceProxy } from '../../test-host/grafana-ds-proxy';
import { type PluginRoute, interpolateRoute, joinUrl, matchRoute, routeRest } from '../../test-host/proxy-route';

const ROUTES: PluginRoute[] = [
  { path: 'api/v4/', method: 'GET', url: 'https://www.google.com' },
  { path: 'api/admin', method: 'GET', url: 'https://admin.example.com' },
  { path: 'api/anon', url: 'https://anon.example.com' },
  { path: 'api/common', url: '{{.JsonData.dynamicUrl}}' },
];

describe('proxy routes (Grafana DataSourceProxy rules)', () => {
  test('the first route in plugin.json order whose path prefixes the proxied path wins', () => {
    expect(matchRoute(ROUTES, 'api/v4/some/method', 'GET')?.url).toBe('https://www.google.com');
    expect(matchRoute(ROUTES, '/api/common/some/method', 'POST')?.path).toBe('api/common');
  });

  test('a route with a method only matches that method', () => {
    expect(matchRoute(ROUTES, 'api/admin/x', 'GET')?.path).toBe('api/admin');
    expect(matchRoute(ROUTES, 'api/admin/x', 'POST')).toBeUndefined();
  });

  test('matching is a string prefix on cleaned paths, as in Grafana (sg also matches sgx)', () => {
    const routes: PluginRoute[] = [{ path: 'sg', url: 'http://c' }];
    expect(matchRoute(routes, '/sg/api/v1/channels', 'GET')).toBe(routes[0]);
    expect(matchRoute(routes, '/sgx/y', 'GET')).toBe(routes[0]);
    expect(matchRoute(routes, '/other', 'GET')).toBeUndefined();
    expect(routeRest(routes[0], '/sg/api/v1/channels')).toBe('/api/v1/channels');
  });

  test("templates take jsonData and secureJsonData; a missing value renders as Go's <no value>", () => {
    expect(interpolateRoute('{{ .JsonData.collectorUrl }}', { collectorUrl: 'http://c:8080' }, {})).toBe(
      'http://c:8080'
    );
    expect(interpolateRoute('Bearer {{.SecureJsonData.apiKey}}', {}, { apiKey: 'k1' })).toBe('Bearer k1');
    expect(interpolateRoute('Bearer {{ .SecureJsonData.apiKey }}', {}, {})).toBe('Bearer <no value>');
  });

  test('the upstream URL is the route URL plus the rest of the path and the query string', () => {
    expect(joinUrl('http://c:8080', '/api/v1/messages', '?channel=a&limit=5').href).toBe(
      'http://c:8080/api/v1/messages?channel=a&limit=5'
    );
    expect(joinUrl('http://c:8080/base/', 'ws', '').href).toBe('http://c:8080/base/ws');
  });

  test("this plugin's plugin.json route sends /sg/… to the collector URL with the API key as a bearer token", () => {
    const pluginJson = JSON.parse(readFileSync(join(__dirname, '..', 'plugin.json'), 'utf8')) as {
      routes: PluginRoute[];
    };
    const route = matchRoute(pluginJson.routes, '/sg/ws', 'GET');
    expect(route).toBeDefined();
    const base = interpolateRoute(route!.url!, { collectorUrl: 'http://collector:8080' }, { apiKey: 'secret-key' });
    expect(joinUrl(base, routeRest(route!, '/sg/ws'), '').href).toBe('http://collector:8080/ws');
    const headers = (route!.headers ?? []).map((h) => [
      h.name,
      interpolateRoute(h.content, {}, { apiKey: 'secret-key' }),
    ]);
    expect(headers).toEqual([['Authorization', 'Bearer secret-key']]);
  });

  test('reqRole is checked on the matched route (ds_proxy.go validateRequest): a lower role gets 403 and nothing is proxied', async () => {
    let upstreamHits = 0;
    const upstream = http.createServer((_req, res) => {
      upstreamHits++;
      res.end('{}');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const serve = async (userRole: 'Viewer' | 'Admin') => {
      const proxy = createDataSourceProxy({
        routes: [
          { path: 'admin', url, reqRole: 'Admin' },
          { path: 'sg', url },
        ],
        dataSource: () => ({ jsonData: {}, secureJsonData: {} }),
        userRole,
      });
      const server = http.createServer((req, res) => proxy.http(req, res, req.url!, ''));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const statuses = [(await fetch(`${base}/admin/x`)).status, (await fetch(`${base}/sg/x`)).status];
      const body = await (await fetch(`${base}/admin/x`)).text();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      return { statuses, body };
    };
    try {
      const viewer = await serve('Viewer');
      expect(viewer.statuses).toEqual([403, 200]);
      expect(viewer.body).toBe('{"message":"plugin proxy route access denied"}');
      expect(upstreamHits).toBe(1);
      expect((await serve('Admin')).statuses).toEqual([200, 200]);
    } finally {
      upstream.closeAllConnections();
      await new Promise((r) => upstream.close(r));
    }
  });
});
