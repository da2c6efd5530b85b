/**
 * Connections and hosts, attacked against real collector processes: idle sockets and slow bodies
 * (closed by the headers and request timeouts), one address holding many sockets (per-IP cap),
 * DNS rebinding (Host check), /metrics on the network with no keys (refused at startup), and
 * field names as long as a message allows (kept out of the schema).
 */
import { connect, type Socket } from 'node:net';
import { ErrorCode } from '@streamgauge/protocol';
import WebSocket from 'ws';
import { type CollectorProcess, freePort, publish, startCollector } from '../helpers/collector-process';
import { PUB_KEY, AUTH_ENV, authConfig, bearer, getJson } from './fixtures';
import { rawRequest } from './raw-http';

/** Opens a socket and resolves once connected; collects what the server sends and when it closes. */
function openSocket(port: number): Promise<{ s: Socket; data: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const s = connect(port, '127.0.0.1');
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.once('error', reject);
    s.once('connect', () => resolve({ s, data: () => data, closed }));
  });
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`${what} did not happen within ${ms} ms`)), ms).unref())]);

describe('slow and idle connections (real collector with keys)', () => {
  let sg: CollectorProcess;

  beforeAll(async () => {
    sg = await startCollector({
      config: { auth: authConfig({ limits: { httpHeadersTimeoutMs: 500, httpRequestTimeoutMs: 1_000, httpConnectionsPerIp: 30 } }) },
      env: AUTH_ENV,
    });
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: a socket that sends nothing gets 408 and is closed after auth.limits.httpHeadersTimeoutMs', async () => {
    const c = await openSocket(sg.port);
    await within(c.closed, 10_000, 'close of an idle socket'); // hang bound only
    expect(c.data()).toMatch(/^HTTP\/1\.1 408 /);
  });

  test('behavior: a body trickled in with no key is answered 401 and the connection closed by auth.limits.httpRequestTimeoutMs', async () => {
    const c = await openSocket(sg.port);
    c.s.write('POST /api/v1/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
    const trickle = setInterval(() => c.s.writable && c.s.write(' '), 100);
    try {
      await within(c.closed, 10_000, 'close of a slow-body socket'); // hang bound only
    } finally {
      clearInterval(trickle);
    }
    expect(c.data()).toMatch(/^HTTP\/1\.1 (401|408) /);
  });

  test('behavior: one address holds at most auth.limits.httpConnectionsPerIp sockets; the next is closed unanswered, and room comes back as they close', async () => {
    // A keep-alive request on each socket keeps them open past the headers timeout.
    const held: Awaited<ReturnType<typeof openSocket>>[] = [];
    let refused: Awaited<ReturnType<typeof openSocket>> | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const c = await openSocket(sg.port);
      const gotAnswerOrClose = new Promise<void>((r) => {
        c.s.once('data', () => r());
        void c.closed.then(() => r());
      });
      c.s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await within(gotAnswerOrClose, 10_000, 'an answer or a close');
      if (c.data() === '') {
        refused = c;
      } else {
        held.push(c);
      }
    }
    expect(refused).toBeDefined();
    // Other sockets of this test process (fetch keeps its connections alive) count too.
    expect(held.length).toBeLessThanOrEqual(30);
    for (const c of held) {
      c.s.destroy();
    }
    await Promise.all(held.map((c) => c.closed));
    // The server counts a socket down when it sees it close: wait for that event, not for time.
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = await rawRequest(sg.port, 'GET', '/healthz').then(
        (r) => r.status,
        () => 0,
      );
    }
    expect(status).toBe(200);
  });
});

/** The HTTP status a WebSocket upgrade gets (101 when it opens). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(url, { headers });
  return within(
    new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    }),
    10_000,
    'upgrade answer',
  ).finally(() => ws.terminate());
}

/** The status of an SSE request (the body is not read: the socket is closed at once). */
async function sseStatus(port: number, headers: Record<string, string>): Promise<number> {
  const c = await openSocket(port);
  const lines = [
    'GET /api/v1/stream?channels=proxy/x HTTP/1.1',
    'Host: 127.0.0.1',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  c.s.write(`${lines.join('\r\n')}\r\n\r\n`);
  await within(
    new Promise<void>((r) => {
      const check = (): void => (/^HTTP\/1\.1 \d{3}/.test(c.data()) ? r() : undefined);
      c.s.on('data', check);
      void c.closed.then(() => r());
    }),
    10_000,
    'an SSE answer',
  );
  c.s.destroy();
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(c.data())?.[1] ?? 0);
}

describe('behind a trusted proxy: auth.limits.trustedProxies (real collectors)', () => {
  // A burst of 2 new connections per client address, refilled so slowly that a test never sees it.
  const perIp = { connectionsPerIpPerSecond: 0.001, connectionsPerIpBurst: 2, httpConnectionsPerIp: 3 };
  let proxied: CollectorProcess;
  let direct: CollectorProcess;

  beforeAll(async () => {
    proxied = await startCollector({ config: { auth: { limits: { ...perIp, trustedProxies: ['127.0.0.0/8'] } } } });
    direct = await startCollector({ config: { auth: { limits: perIp } } });
  });

  afterAll(async () => {
    await proxied?.stop();
    proxied?.cleanup();
    await direct?.stop();
    direct?.cleanup();
  });

  test('behavior: the per-IP rate limit counts the X-Forwarded-For client of a listed proxy, for WebSocket and SSE alike', async () => {
    const viewer = (ip: string): Record<string, string> => ({ 'x-forwarded-for': ip });
    expect(await upgradeStatus(proxied.wsUrl, viewer('10.0.0.1'))).toBe(101);
    expect(await upgradeStatus(proxied.wsUrl, viewer('10.0.0.1'))).toBe(101);
    // The third from that viewer is refused; SSE shares the same limiter and the same address.
    expect(await upgradeStatus(proxied.wsUrl, viewer('10.0.0.1'))).toBe(429);
    expect(await sseStatus(proxied.port, viewer('10.0.0.1'))).toBe(429);
    // Other viewers behind the same proxy are not affected; the right-most untrusted hop counts.
    expect(await upgradeStatus(proxied.wsUrl, viewer('10.0.0.2'))).toBe(101);
    expect(await sseStatus(proxied.port, viewer('10.0.0.3'))).toBe(200);
    expect(await upgradeStatus(proxied.wsUrl, viewer('10.0.0.1, 10.0.0.4'))).toBe(101);
  });

  test('behavior: a listed proxy may hold more sockets than auth.limits.httpConnectionsPerIp (it carries every viewer)', async () => {
    const held: Awaited<ReturnType<typeof openSocket>>[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const c = await openSocket(proxied.port);
        held.push(c);
        c.s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        await within(
          new Promise<void>((r) => {
            c.s.once('data', () => r());
            void c.closed.then(() => r());
          }),
          10_000,
          'an answer or a close',
        );
        expect([i, c.data().slice(0, 15)]).toEqual([i, 'HTTP/1.1 200 OK']);
      }
    } finally {
      held.forEach((c) => c.s.destroy());
    }
  });

  test('behavior: with no proxy listed, X-Forwarded-For is ignored: a client cannot pick a new address to escape the limit', async () => {
    expect(await upgradeStatus(direct.wsUrl, { 'x-forwarded-for': '10.0.0.1' })).toBe(101);
    expect(await upgradeStatus(direct.wsUrl, { 'x-forwarded-for': '10.0.0.2' })).toBe(101);
    expect(await upgradeStatus(direct.wsUrl, { 'x-forwarded-for': '10.0.0.3' })).toBe(429);
    expect(await sseStatus(direct.port, { 'x-forwarded-for': '10.0.0.4' })).toBe(429);
  });

  test('behavior: an entry that is neither an address nor a CIDR range stops the startup with exit 78, naming it', async () => {
    await expect(startCollector({ config: { auth: { limits: { trustedProxies: ['10.0.0.0/33'] } } } })).rejects.toThrow(
      /exited with 78[\s\S]*10\.0\.0\.0\/33/,
    );
  });
});

describe('DNS rebinding: the Host header (real collectors)', () => {
  let open: CollectorProcess;
  let keyed: CollectorProcess;

  beforeAll(async () => {
    open = await startCollector();
    keyed = await startCollector({ config: { auth: authConfig({ allowedHosts: ['grafana.example'] }) }, env: AUTH_ENV });
  });

  afterAll(async () => {
    await open?.stop();
    open?.cleanup();
    await keyed?.stop();
    keyed?.cleanup();
  });

  test('behavior: with auth off, a request whose Host is not a loopback name is refused with 403 SG_HOST_FORBIDDEN', async () => {
    const evil = await rawRequest(open.port, 'GET', '/api/v1/channels', { Host: `rebind.attacker.example:${open.port}` });
    expect([evil.status, evil.json().error.code]).toEqual([403, ErrorCode.HostForbidden]);
    for (const host of [`localhost:${open.port}`, `127.0.0.1:${open.port}`, `[::1]:${open.port}`]) {
      expect([host, (await rawRequest(open.port, 'GET', '/api/v1/channels', { Host: host })).status]).toEqual([host, 200]);
    }
  });

  test('behavior: with auth off, a WebSocket upgrade from a rebound page (Origin and Host both attacker names) is refused with 403', async () => {
    const headers = { host: `rebind.attacker.example:${open.port}`, origin: `http://rebind.attacker.example:${open.port}` };
    expect(await upgradeStatus(open.wsUrl, headers)).toBe(403);
  });

  test('behavior: with keys and auth.allowedHosts set, other hosts are refused; the listed one and loopback pass', async () => {
    const evil = await rawRequest(keyed.port, 'GET', '/healthz', { Host: 'evil.example' });
    expect([evil.status, evil.json().error.code]).toEqual([403, ErrorCode.HostForbidden]);
    expect((await rawRequest(keyed.port, 'GET', '/healthz', { Host: 'grafana.example:3000' })).status).toBe(200);
    expect((await rawRequest(keyed.port, 'GET', '/healthz', { Host: 'localhost' })).status).toBe(200);
  });

  test('behavior: field names longer than 128 characters are stored and delivered but never enter the inferred schema', async () => {
    const long = 'x'.repeat(200);
    expect((await publish(keyed.url, { channel: 'app/wide', data: { ok: 1, [long]: 2 } }, bearer(PUB_KEY))).status).toBe(200);
    const info = await getJson(`${keyed.url}/api/v1/channels/app/wide`, bearer(PUB_KEY));
    expect(info.body.schema.fields.map((f: { name: string }) => f.name)).toEqual(['ok']);
    const h = await getJson(`${keyed.url}/api/v1/messages?channel=app/wide`, bearer(PUB_KEY));
    expect(h.body.messages[0].data[long]).toBe(2);
  });
});

describe('the metrics port with no keys (startup)', () => {
  test('behavior: auth.metrics.port on a non-loopback host with no keys and no bearer token stops the startup with exit 78', async () => {
    const port = await freePort();
    await expect(startCollector({ config: { auth: { metrics: { port, host: '0.0.0.0' } } } })).rejects.toThrow(
      /exited with 78[\s\S]*insecure_refused/,
    );
  });
});
