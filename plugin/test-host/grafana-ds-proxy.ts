/**
 * The one stand-in for Grafana's data source proxy (`/api/datasources/proxy/uid/<uid>/<path>`),
 * used by the browser test host (host-server.ts) and by the Node integration tests
 * (src/__integration__/helpers/fake-grafana-proxy.ts). It plays the proxy as Grafana's Go source
 * does; each behaviour names the file it comes from (grafana/grafana, see
 * ../../../shared/grafana/BEHAVIOUR.md in the session notes and docs/plugin.md):
 *
 * - route matching: pkg/api/pluginproxy/ds_proxy.go `validateRequest`: the first route whose
 *   method matches (empty or `*` = any) and whose path is a string prefix of the proxied path;
 *   its `reqRole` is checked there (403 "plugin proxy route access denied"); `reqSignedIn` is not.
 * - route templates: pkg/api/pluginproxy/ds_auth_provider.go `ApplyRoute` (proxy-route.ts).
 * - request headers: pkg/util/proxyutil/proxyutil.go `PrepareProxyRequest`: Origin, Referer,
 *   X-Forwarded-Host/Port/Proto removed, X-Forwarded-For appended, X-Grafana-Referer set;
 *   `ClearCookieHeader` drops cookies (no keepCookies here).
 * - answers: pkg/api/pluginproxy/ds_proxy.go ModifyResponse: an upstream 401 becomes
 *   400 "Authentication to data source failed" (plain text); pkg/util/proxyutil/reverse_proxy.go
 *   `modifyResponse`: Set-Cookie removed, `Content-Security-Policy: sandbox` added; `errorHandler`:
 *   502 with an empty body when the upstream fails, 504 on a timeout.
 * - WebSocket: Go's net/http/httputil ReverseProxy passes upgrades (a non-101 answer goes through
 *   ModifyResponse like any other); pkg/middleware/csrf/csrf.go refuses a browser Origin other
 *   than Grafana's own.
 *
 * Besides Grafana's behaviour it has switches for what breaks in real setups in front of Grafana
 * (a reverse proxy refusing upgrades, a connection going silent, cut connections).
 */
import { type IncomingMessage, type ServerResponse, request as httpRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { type PluginRoute, interpolateRoute, joinUrl, matchRoute, routeRest } from './proxy-route';

export type OrgRole = 'Viewer' | 'Editor' | 'Admin';

export interface ProxiedDataSource {
  /** The data source's URL setting: used when no route matches, or a route has no `url`. */
  url?: string;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

export interface DataSourceProxyOptions {
  routes: PluginRoute[];
  /** Read per request, so a test can point it at a restarted collector. */
  dataSource: () => ProxiedDataSource;
  /** The signed-in user's role, for routes with `reqRole`. Default Admin. */
  userRole?: OrgRole;
  /** Grafana's [dataproxy] timeout: no answer within it gives 504. Default 30 s. */
  timeoutMs?: number;
}

/** One request that went through the proxy. */
export interface ProxyRecord {
  kind: 'http' | 'upgrade';
  method: string;
  /** Path after /api/datasources/proxy/uid/<uid>. */
  proxyPath: string;
  /** The URL the request was sent to ('' when refused before). */
  target: string;
  /** plugin.json route path used, or null when the data source URL was used. */
  route: string | null;
  /** Names of the headers the route added (values are secrets: not recorded). */
  headersAdded: string[];
  /** Headers as sent upstream, secrets of the route masked (tests check what Grafana removes). */
  sentHeaders: Record<string, string | string[]>;
  /** Status the browser got (101 for an accepted upgrade). */
  status: number;
}

export interface DataSourceProxy {
  /** Handles an HTTP request whose path (after the uid prefix) is `proxyPath`. */
  http(req: IncomingMessage, res: ServerResponse, proxyPath: string, search: string): void;
  /** Handles an upgrade whose path (after the uid prefix) is `proxyPath`. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, proxyPath: string, search: string): void;
  readonly records: ProxyRecord[];
  /** Refuse WebSocket upgrades with 400 (a reverse proxy in front of Grafana without upgrade support). */
  refuseUpgrades(on: boolean): void;
  /** Stop forwarding bytes on open sockets without closing them (a dead peer behind a NAT). */
  freezeSockets(): void;
  /** Cut every open proxied socket. */
  killSockets(): void;
  /** Accepted upgrades so far. */
  upgrades(): number;
  /** Proxied WebSocket connections open now. */
  openSockets(): number;
  /** Destroys every socket it holds. */
  close(): void;
}

const ROLE_RANK: Record<OrgRole, number> = { Viewer: 1, Editor: 2, Admin: 3 };

/** Hop-by-hop headers (RFC 9110 7.6.1): never forwarded by a proxy (Go's ReverseProxy removes them). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
]);

const AUTH_FAILED = 'Authentication to data source failed';

export function createDataSourceProxy(o: DataSourceProxyOptions): DataSourceProxy {
  const records: ProxyRecord[] = [];
  const pairs = new Set<{ client: Duplex; upstream: Duplex }>();
  const held = new Set<Duplex>();
  const timeoutMs = o.timeoutMs ?? 30_000;
  let refuse = false;
  let upgrades = 0;

  /** ds_proxy.go validateRequest + ApplyRoute: which route, which URL; or why not. */
  const resolve = (proxyPath: string, search: string, method: string) => {
    const ds = o.dataSource();
    const route = matchRoute(o.routes, proxyPath, method);
    if (route?.reqRole && ROLE_RANK[o.userRole ?? 'Admin'] < ROLE_RANK[route.reqRole as OrgRole]) {
      return { denied: true as const };
    }
    const base = route ? interpolateRoute(route.url ?? ds.url ?? '', ds.jsonData, ds.secureJsonData) : (ds.url ?? '');
    let target: URL | undefined;
    try {
      target = joinUrl(base, route ? routeRest(route, proxyPath) : proxyPath, search);
    } catch {
      target = undefined;
    }
    return { denied: false as const, route, target, ds };
  };

  /** proxyutil.PrepareProxyRequest and ClearCookieHeader, then the route's headers. */
  const upstreamHeaders = (
    req: IncomingMessage,
    route: PluginRoute | undefined,
    target: URL,
    ds: ProxiedDataSource,
    upgrade: boolean
  ) => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined && !(HOP_BY_HOP.has(k) && !(upgrade && (k === 'upgrade' || k === 'connection')))) {
        headers[k] = v;
      }
    }
    headers['x-grafana-referer'] = req.headers.referer ?? '';
    for (const h of ['origin', 'referer', 'cookie', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-proto']) {
      delete headers[h];
    }
    const remote = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = req.headers['x-forwarded-for']
      ? `${req.headers['x-forwarded-for']}, ${remote}`
      : remote;
    if (typeof req.headers['x-ds-authorization'] === 'string') {
      headers.authorization = req.headers['x-ds-authorization'];
      delete headers['x-ds-authorization'];
    }
    headers.host = target.host;
    const added: string[] = [];
    const masked: Record<string, string | string[]> = { ...headers };
    for (const h of route?.headers ?? []) {
      headers[h.name.toLowerCase()] = interpolateRoute(h.content, ds.jsonData, ds.secureJsonData);
      masked[h.name.toLowerCase()] = '<secret>';
      added.push(h.name);
    }
    return { headers, added, masked };
  };

  /** reverse_proxy.go modifyResponse and ds_proxy.go's 401 rewrite, as one header set and body. */
  const answerHeaders = (up: IncomingMessage): Record<string, string | string[]> => {
    const h: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(up.headers)) {
      if (v !== undefined && !HOP_BY_HOP.has(k) && k !== 'set-cookie') {
        h[k] = v;
      }
    }
    h['content-security-policy'] = 'sandbox';
    h.via = up.headers.via ? `1.1 grafana, ${up.headers.via}` : '1.1 grafana';
    return h;
  };

  /** pkg/middleware/csrf/csrf.go: a browser Origin must be Grafana's own (same host). */
  const csrfRefuses = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (!origin || origin === 'null') {
      return false;
    }
    try {
      return new URL(origin).host !== req.headers.host;
    } catch {
      return true;
    }
  };

  const record = (r: Omit<ProxyRecord, 'status'>): ProxyRecord => {
    const rec = { ...r, status: 0 };
    records.push(rec);
    return rec;
  };

  const http = (req: IncomingMessage, res: ServerResponse, proxyPath: string, search: string): void => {
    const method = req.method ?? 'GET';
    const r = resolve(proxyPath, search, method);
    if (r.denied) {
      res
        .writeHead(403, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: 'plugin proxy route access denied' }));
      return;
    }
    if (!r.target) {
      // pkg/api/pluginproxy: an unusable URL is a bad request before any proxying.
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: 'Invalid data source URL' }));
      return;
    }
    if (method !== 'GET' && method !== 'HEAD' && csrfRefuses(req)) {
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'origin not allowed' }));
      return;
    }
    const { headers, added, masked } = upstreamHeaders(req, r.route, r.target, r.ds, false);
    const rec = record({
      kind: 'http',
      method,
      proxyPath,
      target: r.target.href,
      route: r.route?.path ?? null,
      headersAdded: added,
      sentHeaders: masked,
    });
    let done = false;
    const fail = (status: 502 | 504) => {
      if (done) {
        return;
      }
      done = true;
      rec.status = status;
      if (!res.headersSent) {
        // reverse_proxy.go errorHandler: only the status, no body.
        res.writeHead(status, { 'content-length': '0' }).end();
      } else {
        res.destroy();
      }
    };
    const timer = setTimeout(() => {
      upstream.destroy();
      fail(504);
    }, timeoutMs);
    const upstream = httpRequest(r.target, { method, headers }, (up) => {
      clearTimeout(timer);
      done = true;
      const h = answerHeaders(up);
      if (up.statusCode === 401) {
        up.resume();
        rec.status = 400;
        delete h['content-type'];
        delete h['content-length'];
        delete h['content-encoding'];
        res
          .writeHead(400, {
            ...h,
            'content-type': 'text/plain; charset=utf-8',
            'content-length': String(AUTH_FAILED.length),
          })
          .end(AUTH_FAILED);
        return;
      }
      rec.status = up.statusCode ?? 502;
      res.writeHead(up.statusCode ?? 502, h);
      up.pipe(res);
    });
    upstream.on('error', () => {
      clearTimeout(timer);
      fail(502);
    });
    req.pipe(upstream);
  };

  const writeRaw = (
    socket: Duplex,
    status: number,
    text: string,
    headers: Record<string, string | string[]>,
    body = ''
  ) => {
    const lines = [`HTTP/1.1 ${status} ${text}`, 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`];
    for (const [k, v] of Object.entries(headers)) {
      if (k !== 'content-length' && k !== 'connection') {
        for (const x of Array.isArray(v) ? v : [v]) {
          lines.push(`${k}: ${x}`);
        }
      }
    }
    socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  };

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, proxyPath: string, search: string): void => {
    held.add(socket);
    socket.on('close', () => held.delete(socket));
    socket.on('error', () => socket.destroy());
    if (refuse) {
      writeRaw(socket, 400, 'Bad Request', {});
      return;
    }
    if (csrfRefuses(req)) {
      writeRaw(
        socket,
        403,
        'Forbidden',
        { 'content-type': 'application/json' },
        JSON.stringify({ message: 'origin not allowed' })
      );
      return;
    }
    const r = resolve(proxyPath, search, 'GET');
    if (r.denied) {
      writeRaw(
        socket,
        403,
        'Forbidden',
        { 'content-type': 'application/json' },
        JSON.stringify({ message: 'plugin proxy route access denied' })
      );
      return;
    }
    if (!r.target) {
      writeRaw(
        socket,
        400,
        'Bad Request',
        { 'content-type': 'application/json' },
        JSON.stringify({ message: 'Invalid data source URL' })
      );
      return;
    }
    const { headers, added, masked } = upstreamHeaders(req, r.route, r.target, r.ds, true);
    const rec = record({
      kind: 'upgrade',
      method: 'GET',
      proxyPath,
      target: r.target.href,
      route: r.route?.path ?? null,
      headersAdded: added,
      sentHeaders: masked,
    });
    const upstream = httpRequest(r.target, { method: 'GET', headers });
    const timer = setTimeout(() => {
      upstream.destroy();
      rec.status = 504;
      writeRaw(socket, 504, 'Gateway Timeout', {});
    }, timeoutMs);
    upstream.on('upgrade', (up, upSocket, upHead) => {
      clearTimeout(timer);
      rec.status = 101;
      upgrades++;
      held.add(upSocket);
      upSocket.on('close', () => held.delete(upSocket));
      let raw = 'HTTP/1.1 101 Switching Protocols\r\n';
      for (let i = 0; i < up.rawHeaders.length; i += 2) {
        raw += `${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}\r\n`;
      }
      socket.write(`${raw}\r\n`);
      if (upHead.length) {
        socket.write(upHead);
      }
      if (head.length) {
        upSocket.write(head);
      }
      const pair = { client: socket, upstream: upSocket };
      pairs.add(pair);
      const end = () => {
        pairs.delete(pair);
        socket.destroy();
        upSocket.destroy();
      };
      upSocket.pipe(socket);
      socket.pipe(upSocket);
      for (const s of [socket, upSocket]) {
        s.on('error', end);
        s.on('close', end);
        // Half-open connections: an EOF alone would not close them.
        s.on('end', end);
      }
    });
    // A non-101 answer to an upgrade is passed on as plain HTTP, through the same ModifyResponse.
    upstream.on('response', (up) => {
      clearTimeout(timer);
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        const h = answerHeaders(up);
        if (up.statusCode === 401) {
          rec.status = 400;
          writeRaw(
            socket,
            400,
            'Bad Request',
            { 'content-security-policy': 'sandbox', 'content-type': 'text/plain; charset=utf-8' },
            AUTH_FAILED
          );
          return;
        }
        rec.status = up.statusCode ?? 502;
        writeRaw(socket, up.statusCode ?? 502, up.statusMessage ?? '', h, Buffer.concat(chunks).toString());
      });
    });
    upstream.on('error', () => {
      clearTimeout(timer);
      if (rec.status === 0) {
        rec.status = 502;
        writeRaw(socket, 502, 'Bad Gateway', {});
      }
    });
    upstream.end();
  };

  return {
    http,
    upgrade,
    records,
    refuseUpgrades: (on) => {
      refuse = on;
    },
    freezeSockets: () => {
      for (const p of pairs) {
        // Bytes are read and dropped (not paused), so a close by either side is still noticed.
        p.client.unpipe(p.upstream);
        p.upstream.unpipe(p.client);
        p.client.on('data', () => undefined).resume();
        p.upstream.on('data', () => undefined).resume();
      }
    },
    killSockets: () => {
      for (const p of [...pairs]) {
        p.client.destroy();
        p.upstream.destroy();
      }
    },
    upgrades: () => upgrades,
    openSockets: () => pairs.size,
    close: () => {
      for (const s of [...held]) {
        s.destroy();
      }
    },
  };
}
