/**
 * Stands in for Grafana's data source proxy in Node tests: `/api/datasources/proxy/uid/<uid>/sg/...`
 * is forwarded to the collector with the route's Authorization header added, WebSocket upgrades
 * included (as Grafana's Go reverse proxy does). Switches simulate what breaks in real setups: a
 * proxy refusing upgrades, and a connection that goes silent without closing.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

export interface FakeGrafanaProxy {
  /** e.g. http://127.0.0.1:PORT */
  origin: string;
  /** instanceSettings.url as Grafana sets it for this data source. */
  dsUrl: string;
  /** Refuse WebSocket upgrades (HTTP 400), like a reverse proxy without upgrade support. */
  refuseUpgrades(on: boolean): void;
  /** Stop forwarding bytes on open sockets without closing them (a dead peer behind a NAT). */
  freezeSockets(): void;
  /** Cut every open socket. */
  killSockets(): void;
  upgrades(): number;
  /** Upgraded connections open now. */
  openSockets(): number;
  close(): Promise<void>;
}

export async function startFakeGrafanaProxy(o: {
  uid: string;
  target: () => string;
  apiKey?: string;
}): Promise<FakeGrafanaProxy> {
  const prefix = `/api/datasources/proxy/uid/${o.uid}/sg`;
  let refuse = false;
  let upgrades = 0;
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const sockets = new Set<net.Socket>();

  const headersFor = (req: http.IncomingMessage, host: string) => {
    const h: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) {
        h[k] = v;
      }
    }
    h.host = host;
    delete h.authorization;
    if (o.apiKey) {
      h.authorization = `Bearer ${o.apiKey}`;
    }
    return h;
  };

  const server = http.createServer((req, res) => {
    if (!req.url?.startsWith(prefix)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"message":"Not found"}');
      return;
    }
    const t = new URL(o.target());
    const up = http.request(
      {
        host: t.hostname,
        port: t.port,
        method: req.method,
        path: req.url.slice(prefix.length) || '/',
        headers: headersFor(req, t.host),
      },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      }
    );
    up.on('error', () => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
      }
      res.end('{"message":"Bad Gateway"}');
    });
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    if (refuse || !req.url?.startsWith(prefix)) {
      client.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    upgrades++;
    const t = new URL(o.target());
    const upstream = net.connect(Number(t.port), t.hostname, () => {
      const h = headersFor(req, t.host);
      const lines = Object.entries(h).flatMap(([k, v]) =>
        Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${v}`]
      );
      upstream.write(`GET ${req.url!.slice(prefix.length)} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) {
        upstream.write(head);
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', end);
    upstream.on('close', end);
    client.on('error', end);
    client.on('close', end);
    // http.Server sockets allow half-open connections: an EOF alone would not close them.
    client.on('end', end);
    upstream.on('end', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    dsUrl: `${origin}/api/datasources/proxy/uid/${o.uid}`,
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
    close: async () => {
      for (const p of [...pairs]) {
        p.client.destroy();
        p.upstream.destroy();
      }
      for (const s of sockets) {
        s.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
