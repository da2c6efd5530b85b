/**
 * Serves the plain page on its own origin, optionally in front of a collector the way a reverse
 * proxy (nginx `proxy_pass` with `proxy_set_header Host $host`) puts a web app and the collector on
 * one origin: `/ws` upgrades and `/api/…` requests are piped to the collector unchanged, Host
 * included, so the collector's default Origin check (same host) accepts them and the page needs no
 * CORS. The collector itself serves no HTML: its CSP (`default-src 'none'`) forbids its own
 * responses from running scripts.
 */
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, createServer, request as httpRequest } from 'node:http';
import { type AddressInfo, type Socket, connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';

export const PAGE_HTML = readFileSync(join(__dirname, 'plain-page.html'), 'utf8');

export interface PageServer {
  readonly origin: string;
  close(): Promise<void>;
}

export interface PageServerOptions {
  /** Collector base URL (http://127.0.0.1:port) to pipe `/ws` and `/api/` to; none: page only. */
  proxyTo?: string;
}

export async function startPageServer(o: PageServerOptions = {}): Promise<PageServer> {
  const upstream = o.proxyTo ? new URL(o.proxyTo) : undefined;
  const sockets = new Set<Socket | Duplex>();
  const track = (s: Socket | Duplex): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const proxied = (req: IncomingMessage): boolean => !!upstream && /^\/(ws|api\/)/.test(req.url ?? '');

  const server: Server = createServer((req, res) => {
    if (!proxied(req)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE_HTML);
      return;
    }
    const up = httpRequest(
      { host: upstream!.hostname, port: upstream!.port, method: req.method, path: req.url, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', track);
  // WebSocket: replay the upgrade request byte for byte on a new connection, then pipe both ways.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(socket);
    if (!proxied(req)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const up = connect(Number(upstream!.port), upstream!.hostname, () => {
      let raw = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        raw += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      }
      up.write(`${raw}\r\n`);
      if (head.length) {
        up.write(head);
      }
      up.pipe(socket);
      socket.pipe(up);
    });
    track(up);
    up.on('close', () => socket.destroy());
    socket.on('close', () => up.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) {
          s.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
