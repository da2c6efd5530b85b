/**
 * HTTP/1.1 over a raw socket, so a test sends the request line exactly as an attacker would:
 * percent-encoded paths that fetch() and curl would normalise (curl --path-as-is), and
 * absolute-form request targets (`GET http://host/path HTTP/1.1`).
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  json(): any;
}

export async function rawRequest(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body = '',
  timeoutMs = 10_000,
): Promise<RawResponse> {
  const lines = [`${method} ${target} HTTP/1.1`, 'Connection: close'];
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'host')) {
    lines.push(`Host: 127.0.0.1:${port}`);
  }
  for (const [k, v] of Object.entries(headers)) {
    lines.push(`${k}: ${v}`);
  }
  if (body || method === 'POST') {
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  }
  const wire = `${lines.join('\r\n')}\r\n\r\n${body}`;
  const text = await new Promise<string>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no complete answer to ${method} ${target} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (err) => {
      clearTimeout(t);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    s.write(wire);
  });
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  let rest = split < 0 ? '' : text.slice(split + 4);
  const [statusLine, ...headerLines] = head.split('\r\n');
  const hs: Record<string, string> = {};
  for (const l of headerLines) {
    const i = l.indexOf(':');
    if (i > 0) {
      hs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
  }
  if (hs['transfer-encoding'] === 'chunked') {
    let out = '';
    while (rest.length) {
      const eol = rest.indexOf('\r\n');
      const n = parseInt(rest.slice(0, eol), 16);
      if (!n) {
        break;
      }
      out += rest.slice(eol + 2, eol + 2 + n);
      rest = rest.slice(eol + 2 + n + 2);
    }
    rest = out;
  }
  const status = Number(statusLine.split(' ')[1]);
  return {
    status,
    headers: hs,
    body: rest,
    json: () => JSON.parse(rest),
  };
}
