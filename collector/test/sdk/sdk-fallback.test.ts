/**
 * The SDK subscriber's REST polling fallback against a real collector: behind a proxy that answers
 * every WebSocket upgrade with 403 (as a corporate proxy or a misconfigured ingress does) while it
 * forwards plain HTTP, data still arrives, by polling the collector's history endpoint; when the
 * proxy lets upgrades through again, the subscriber returns to the WebSocket. No gap and no
 * duplicate across both switches.
 */
import { type IncomingMessage, type Server, createServer, request } from 'node:http';
import { type Socket, connect } from 'node:net';
import WebSocket from 'ws';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import {
  type ConnectionState,
  type MessageItem,
  type SubscriberOptions,
  type WebSocketConstructor,
  createSubscriber,
} from '../../../sdk/src';
import { restUrlFromWsUrl } from '../../../sdk/src/rest-reader';

const API_KEY = 'sg-sdk-fallback-key-0123456789abcdef';
const AUTH = { authorization: `Bearer ${API_KEY}` };

/** A plain HTTP forwarder to the collector; upgrades are tunnelled, or refused with 403 when `refuse`. */
async function startProxy(target: URL): Promise<{
  url: string;
  refuse: (on: boolean) => void;
  upgradesRefused: () => number;
  httpRequests: (path: string) => number;
  stop: () => Promise<void>;
}> {
  let refusing = false;
  let refused = 0;
  const seen = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    seen.set(path, (seen.get(path) ?? 0) + 1);
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (r: IncomingMessage) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    if (refusing) {
      refused++;
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nForbidden');
      return;
    }
    const up = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      }
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    refuse: (on) => {
      refusing = on;
    },
    upgradesRefused: () => refused,
    httpRequests: (path) => seen.get(path) ?? 0,
    stop: async () => {
      for (const s of sockets) {
        s.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function until(what: string, pred: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) {
      throw new Error(`${what}: not met in time`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SDK subscriber polling fallback (real collector behind a proxy refusing upgrades)', () => {
  let sg: CollectorProcess;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  beforeAll(async () => {
    sg = await startCollector({
      config: {
        auth: { keys: [{ name: 'app', key: API_KEY, scopes: { subscribe: ['**'], publish: ['**'] } }] },
        channels: { definitions: [{ name: 'app/ticks', kind: 'stream', fields: [{ name: 'n', type: 'number' }] }] },
      },
    });
    proxy = await startProxy(new URL(sg.url));
  });
  afterAll(async () => {
    await proxy?.stop();
    await sg?.stop();
    sg?.cleanup();
  });

  const send = async (ns: number[]) => {
    const r = await publish(sg.url, { messages: ns.map((n) => ({ channel: 'app/ticks', data: { n } })) }, AUTH);
    expect(r.status).toBe(200);
  };

  /** A subscriber through the proxy, with the API key, fast reconnects and the given options. */
  const subscriber = (o: Partial<SubscriberOptions>) =>
    createSubscriber({
      url: `${proxy.url.replace('http', 'ws')}/ws`,
      apiKey: API_KEY,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      reconnectBaseMs: 20,
      reconnectMaxMs: 100,
      ...o,
    });

  test('behaviour: with upgrades refused data arrives by REST polling, and the subscriber returns to WebSocket when allowed', async () => {
    proxy.refuse(true);
    const sub = subscriber({ pollIntervalMs: 50, fallbackAfterFailures: 2, wsRetryIntervalMs: 300 });
    const states: ConnectionState[] = [];
    sub.onState(({ newState }) => states.push(newState));
    const got: number[] = [];
    // From the channel's current end, as a position: nothing published later can be skipped.
    const end = (await (await fetch(`${sg.url}/api/v1/messages?channel=app/ticks&tail=1&limit=1`, { headers: AUTH })).json()) as {
      epoch: string;
      lastOffset: number;
    };
    const stop = sub.subscribe('app/ticks', {
      since: { epoch: end.epoch, offset: end.lastOffset },
      onMessages: (msgs: MessageItem[]) => got.push(...msgs.map((m) => (m.data as { n: number }).n)),
    });
    try {
      await until('polling', () => sub.state === 'polling');
      expect(proxy.upgradesRefused()).toBeGreaterThanOrEqual(2);
      await send([1, 2, 3]);
      await until('rows by polling', () => got.length === 3);
      expect(got).toEqual([1, 2, 3]);
      // They came through the proxy's REST forwarding: the history endpoint, with the API key.
      expect(proxy.httpRequests('/api/v1/messages')).toBeGreaterThan(0);
      expect(sub.state).toBe('polling');

      proxy.refuse(false);
      await until('back on WebSocket', () => sub.state === 'connected');
      await send([4, 5]);
      await until('rows by WebSocket', () => got.length === 5);
      expect(got).toEqual([1, 2, 3, 4, 5]);
      expect(states).toContain('polling');
      expect(states[states.length - 1]).toBe('connected');
    } finally {
      stop();
      sub.close();
    }
  });

  test('behaviour: without REST (restUrl: false) a refused upgrade never turns into polling', async () => {
    proxy.refuse(true);
    const sub = subscriber({ fallbackAfterFailures: 1, restUrl: false });
    const seen = new Set<ConnectionState>();
    sub.onState(({ newState }) => seen.add(newState));
    const before = proxy.upgradesRefused();
    const stop = sub.subscribe('app/ticks', { onMessages: () => undefined });
    try {
      await until('several refused upgrades', () => proxy.upgradesRefused() >= before + 4);
      expect(seen.has('polling')).toBe(false);
    } finally {
      stop();
      sub.close();
      proxy.refuse(false);
    }
  });

  test('the REST URL defaults to the socket URL with http(s) and without /ws', () => {
    expect(restUrlFromWsUrl('ws://127.0.0.1:8080/ws')).toBe('http://127.0.0.1:8080');
    expect(restUrlFromWsUrl('wss://sg.example.com/ws')).toBe('https://sg.example.com');
    expect(restUrlFromWsUrl('ws://h:1/')).toBe('http://h:1');
    expect(() => createSubscriber({ url: 'ws://h/ws', WebSocket: WebSocket as never, restUrl: 'ftp://h' })).toThrow(
      'restUrl must start with http:// or https://, got "ftp://h"',
    );
  });
});
