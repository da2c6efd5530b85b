/**
 * An HTTP JSON-RPC front for the chain that answers chosen methods with a JSON-RPC error, like a
 * provider that is up but failing (rate limits, "header not found"). Everything else is forwarded.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultyRpc {
  readonly url: string;
  /** Methods answered with `{"error":{"code":-32000,"message":"header not found"}}`. */
  readonly failing: Set<string>;
  stop(): Promise<void>;
}

export async function startFaultyRpc(targetUrl: string): Promise<FaultyRpc> {
  const failing = new Set<string>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const msg = JSON.parse(body) as { id: number; method: string };
      if (failing.has(msg.method)) {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32000, message: 'header not found' } }));
        return;
      }
      fetch(targetUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then(async (r) => {
          res.setHeader('content-type', 'application/json');
          res.end(await r.text());
        })
        .catch(() => {
          res.statusCode = 502;
          res.end();
        });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    failing,
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
