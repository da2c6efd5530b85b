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

  test('templates take jsonData and secureJsonData; missing values become empty', () => {
    expect(interpolateRoute('{{ .JsonData.collectorUrl }}', { collectorUrl: 'http://c:8080' }, {})).toBe(
      'http://c:8080'
    );
    expect(interpolateRoute('Bearer {{.SecureJsonData.apiKey}}', {}, { apiKey: 'k1' })).toBe('Bearer k1');
    expect(interpolateRoute('Bearer {{ .SecureJsonData.apiKey }}', {}, {})).toBe('Bearer ');
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
});
