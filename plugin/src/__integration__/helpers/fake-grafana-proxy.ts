/**
 * Grafana's data source proxy for Node tests: a server on 127.0.0.1 whose
 * `/api/datasources/proxy/uid/<uid>/…` is the test host's stand-in (test-host/grafana-ds-proxy.ts,
 * which plays Grafana's pkg/api/pluginproxy as its Go source does), with this plugin's own
 * plugin.json routes and the data source's jsonData/secureJsonData. Switches simulate what breaks
 * in front of Grafana: a reverse proxy refusing upgrades, a connection that goes silent.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import {
  type DataSourceProxy,
  type OrgRole,
  type ProxyRecord,
  createDataSourceProxy,
} from '../../../test-host/grafana-ds-proxy';
import type { PluginRoute } from '../../../test-host/proxy-route';

export interface FakeGrafanaProxy {
  /** e.g. http://127.0.0.1:PORT */
  origin: string;
  /** instanceSettings.url as Grafana sets it for this data source. */
  dsUrl: string;
  refuseUpgrades(on: boolean): void;
  freezeSockets(): void;
  killSockets(): void;
  upgrades(): number;
  openSockets(): number;
  readonly records: ProxyRecord[];
  close(): Promise<void>;
}

const ROUTES = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'plugin.json'), 'utf8')) as { routes: PluginRoute[] }
).routes;

export async function startFakeGrafanaProxy(o: {
  uid: string;
  /** The collector URL (jsonData.collectorUrl), read per request. */
  target: () => string;
  /** secureJsonData.apiKey; absent: not set (the route sends "Bearer <no value>", as Grafana does). */
  apiKey?: string;
  userRole?: OrgRole;
  timeoutMs?: number;
}): Promise<FakeGrafanaProxy> {
  const prefix = `/api/datasources/proxy/uid/${o.uid}`;
  const proxy: DataSourceProxy = createDataSourceProxy({
    routes: ROUTES,
    dataSource: () => ({
      jsonData: { collectorUrl: o.target(), accessMode: 'proxy' },
      secureJsonData: (o.apiKey ? { apiKey: o.apiKey } : {}) as Record<string, string>,
    }),
    userRole: o.userRole,
    timeoutMs: o.timeoutMs,
  });
  const sockets = new Set<Socket>();
  // pkg/services/datasourceproxy/datasourceproxy.go: an unknown uid is 404.
  const notFound = (res: http.ServerResponse) =>
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify({ message: 'Data source not found' }));
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (!u.pathname.startsWith(`${prefix}/`)) {
      notFound(res);
      return;
    }
    proxy.http(req, res, u.pathname.slice(prefix.length), u.search);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (!u.pathname.startsWith(`${prefix}/`)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    proxy.upgrade(req, socket, head, u.pathname.slice(prefix.length), u.search);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    dsUrl: `${origin}${prefix}`,
    refuseUpgrades: (on) => proxy.refuseUpgrades(on),
    freezeSockets: () => proxy.freezeSockets(),
    killSockets: () => proxy.killSockets(),
    upgrades: () => proxy.upgrades(),
    openSockets: () => proxy.openSockets(),
    records: proxy.records,
    close: async () => {
      proxy.close();
      for (const s of sockets) {
        s.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
