/**
 * The test host's server: plays the parts of Grafana's server that a frontend data source plugin
 * meets. It serves
 *   /                                    the host page (src/host-main.tsx, bundled by bundle-host.ts)
 *   /public/plugins/<id>/…               the built plugin (dist/), where Grafana serves it
 *   /api/datasources/proxy/uid/<uid>/…   Grafana's data source proxy: the plugin.json `routes` are
 *                                        matched and applied (URL and headers templated from
 *                                        jsonData / secureJsonData), for HTTP and WebSocket upgrades
 * and records every proxied request so tests can check which headers the proxy added.
 * The proxy is grafana-ds-proxy.ts, the one stand-in for Grafana's data source proxy (it names
 * the Grafana files it follows).
 */
import { readFileSync, existsSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { extname, join, normalize } from 'node:path';
import { bundleHost, type HostBundle } from './bundle-host';
import { type DataSourceProxy, type OrgRole, type ProxyRecord, createDataSourceProxy } from './grafana-ds-proxy';
import type { PluginRoute } from './proxy-route';

export type { PluginRoute, ProxyRecord };

export interface HostServerOptions {
  /** The built plugin folder (plugin/dist): module.js and plugin.json. */
  distDir: string;
  /** Data source uid used in the proxy URL. Default `sg-test`. */
  uid?: string;
  /** The data source's jsonData (readable by the plugin and by route templates). */
  jsonData?: Record<string, unknown>;
  /** The data source's secureJsonData: only the proxy sees it; the page gets `secureJsonFields`. */
  secureJsonData?: Record<string, string>;
  /** The data source's own URL setting: where the proxy sends requests no route matches. */
  dataSourceUrl?: string;
  /** Merged over the plugin's default query in the page. */
  query?: Record<string, unknown>;
  /** Run the query when the page loads. Default true. */
  autorun?: boolean;
  /** Newest rows shown per frame. Default 50. */
  maxRows?: number;
  /** Panels on the page, each running the query through the one DataSource instance (a dashboard). Default 1. */
  panels?: number;
  /** Fixed panel height in px, panels two per row as on a dashboard grid. Default: panels grow with their rows. */
  panelHeight?: number;
  /** Listen port on 127.0.0.1; default 0 (a free port). */
  port?: number;
  /** The signed-in user's role (routes with reqRole). Default Admin. */
  userRole?: OrgRole;
}

export interface HostServer {
  readonly url: string;
  readonly port: number;
  readonly pluginId: string;
  readonly routes: PluginRoute[];
  readonly proxied: ProxyRecord[];
  /** The data source proxy, with its switches (refuse upgrades, cut sockets). */
  readonly proxy: DataSourceProxy;
  /** Paths the page asked for that the host does not serve (e.g. Grafana's fonts), for diagnosis. */
  readonly notFound: string[];
  /** Closes the server and every proxied socket. */
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.md': 'text/markdown; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};

/**
 * Grafana serves @grafana/ui's icons from public/build/img/icons/; the package ships them. Grafana's
 * Inter font files are not in any package here: the page falls back to the system sans-serif.
 */
const ICONS_URL = '/public/build/img/icons/';
const ICONS_DIR = join(__dirname, '..', '..', 'node_modules', '@grafana', 'ui', 'dist', 'public', 'img', 'icons');

function htmlPage(bootJson: string, configJson: string): string {
  // JSON in a <script>: escape `<` so a value can never close the tag.
  const safe = (s: string) => s.replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Streamgauge plugin test host</title>
<link rel="stylesheet" href="/host/host-main.css">
<script>window.grafanaBootData = ${safe(bootJson)}; window.__SG_HOST_CONFIG__ = ${safe(configJson)};</script>
</head>
<body>
<div id="root"></div>
<script src="/host/host-main.js"></script>
</body>
</html>`;
}

export async function startHostServer(o: HostServerOptions): Promise<HostServer> {
  const pluginJsonPath = join(o.distDir, 'plugin.json');
  if (!existsSync(join(o.distDir, 'module.js')) || !existsSync(pluginJsonPath)) {
    throw new Error(
      `test host: ${o.distDir} has no module.js/plugin.json: build the plugin first (npm run build -w plugin)`
    );
  }
  const pluginJson = JSON.parse(readFileSync(pluginJsonPath, 'utf8')) as {
    id: string;
    name: string;
    routes?: PluginRoute[];
    info?: unknown;
  };
  const pluginId = pluginJson.id;
  const routes = pluginJson.routes ?? [];
  const uid = o.uid ?? 'sg-test';
  const jsonData = o.jsonData ?? {};
  const secure = o.secureJsonData ?? {};
  const proxyPrefix = `/api/datasources/proxy/uid/${uid}`;
  const pluginPrefix = `/public/plugins/${pluginId}/`;
  const bundle: HostBundle = await bundleHost();
  const notFound: string[] = [];
  const sockets = new Set<Socket | Duplex>();

  const instanceSettings = {
    id: 1,
    uid,
    type: pluginId,
    name: `${pluginJson.name} (test host)`,
    url: proxyPrefix,
    access: 'proxy',
    jsonData,
    readOnly: false,
    meta: { ...pluginJson, module: `${pluginPrefix}module.js`, baseUrl: pluginPrefix.replace(/\/$/, '') },
  };
  const settings = {
    id: 1,
    uid,
    orgId: 1,
    name: instanceSettings.name,
    type: pluginId,
    typeName: pluginJson.name,
    typeLogoUrl: '',
    access: 'proxy',
    url: o.dataSourceUrl ?? '',
    user: '',
    database: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    readOnly: false,
    version: 1,
    jsonData,
    // The browser only learns which secrets are set, never their values (as in Grafana).
    secureJsonFields: Object.fromEntries(Object.keys(secure).map((k) => [k, true])),
  };
  const bootData = {
    settings: {
      appSubUrl: '',
      buildInfo: { version: '12.4.10', edition: 'test-host' },
      featureToggles: {},
      datasources: {},
    },
    user: { id: 1, login: 'test-host', orgId: 1, orgRole: 'Admin', timezone: 'utc', theme: 'dark' },
    navTree: [],
  };

  const dsProxy: DataSourceProxy = createDataSourceProxy({
    routes,
    dataSource: () => ({ url: o.dataSourceUrl, jsonData, secureJsonData: secure }),
    userRole: o.userRole ?? 'Admin',
  });

  const serveStatic = (res: ServerResponse, body: string | Uint8Array, type: string): void => {
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const u = new URL(req.url ?? '/', 'http://host');
    const path = u.pathname;
    if (path === '/' || path === '/index.html') {
      const pageConfig = {
        pluginId,
        moduleUrl: `${pluginPrefix}module.js`,
        instanceSettings,
        settings,
        query: o.query ?? {},
        autorun: o.autorun ?? true,
        maxRows: o.maxRows ?? 50,
        panels: o.panels ?? 1,
        panelHeight: o.panelHeight,
      };
      serveStatic(res, htmlPage(JSON.stringify(bootData), JSON.stringify(pageConfig)), 'text/html; charset=utf-8');
      return;
    }
    if (path === '/host/host-main.js') {
      serveStatic(res, bundle.js, CONTENT_TYPES['.js']);
      return;
    }
    if (path === '/host/host-main.css') {
      serveStatic(res, bundle.css, CONTENT_TYPES['.css']);
      return;
    }
    if (bundle.assets.has(path)) {
      serveStatic(res, bundle.assets.get(path)!, CONTENT_TYPES[extname(path)] ?? 'application/octet-stream');
      return;
    }
    for (const [prefix, dir] of [
      [pluginPrefix, o.distDir],
      [ICONS_URL, ICONS_DIR],
    ]) {
      if (path.startsWith(prefix)) {
        const rel = normalize(decodeURIComponent(path.slice(prefix.length)));
        const file = join(dir, rel);
        if (rel.startsWith('..') || !existsSync(file)) {
          notFound.push(path);
          res.writeHead(404).end();
          return;
        }
        serveStatic(res, readFileSync(file), CONTENT_TYPES[extname(file)] ?? 'application/octet-stream');
        return;
      }
    }
    if (path === proxyPrefix || path.startsWith(`${proxyPrefix}/`)) {
      dsProxy.http(req, res, path.slice(proxyPrefix.length), u.search);
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    notFound.push(path);
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`test host: nothing at ${path}`);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const u = new URL(req.url ?? '/', 'http://host');
    if (!u.pathname.startsWith(`${proxyPrefix}/`)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    dsProxy.upgrade(req, socket, head, u.pathname.slice(proxyPrefix.length), u.search);
  };

  const server = createServer(onRequest);
  server.on('upgrade', onUpgrade);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pluginId,
    routes,
    proxied: dsProxy.records,
    proxy: dsProxy,
    notFound,
    close: () =>
      new Promise<void>((resolve) => {
        dsProxy.close();
        for (const s of sockets) {
          s.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
