/**
 * Order between requests on one connection (docs/protocol.md, "Order between requests";
 * collector/src/http/arrival-order.ts), against a real collector process: publishes pipelined on
 * one raw HTTP/1.1 keep-alive socket are stored in the order they were sent, even when their bodies
 * are so different in size that parsing (which yields to the event loop) finishes out of order; a
 * failed request in the middle does not stall the ones after it; a connection whose request never
 * completes does not hold up other connections.
 */
import { type Socket, connect } from 'node:net';
import { type CollectorProcess, startCollector } from '../helpers/collector-process';

const LARGE = 4_000; // messages in a large request: a body of about 1 MB, parsed over several slices
const PAD = 'p'.repeat(200);

interface Answer {
  status: number;
  body: string;
}

/** One keep-alive socket; answers are parsed in order (HTTP/1.1 answers pipelined requests in order). */
class RawClient {
  private buf = Buffer.alloc(0);
  private readonly answers: Answer[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawClient> {
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((res, rej) => {
      s.once('connect', res);
      s.once('error', rej);
    });
    return new RawClient(s);
  }

  private parse(): void {
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) {
        return;
      }
      const head = this.buf.subarray(0, end).toString('latin1');
      const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buf.length < end + 4 + len) {
        return;
      }
      this.answers.push({ status: Number(head.split(' ')[1]), body: this.buf.subarray(end + 4, end + 4 + len).toString() });
      this.buf = this.buf.subarray(end + 4 + len);
      this.wake?.();
    }
  }

  /** Resolves with the first `n` answers, or rejects if the socket closes first. */
  async take(n: number): Promise<Answer[]> {
    while (this.answers.length < n) {
      if (this.closed) {
        throw new Error(`socket closed after ${this.answers.length} of ${n} answers`);
      }
      await new Promise<void>((r) => (this.wake = r));
    }
    return this.answers.slice(0, n);
  }
}

function request(port: number, body: string, contentType = 'application/json'): string {
  return `POST /api/v1/publish HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Request `r` of a run: every 10th is large, the rest hold one message; data carries (r, j). */
function publishBody(channel: string, r: number): string {
  const n = r % 10 === 0 ? LARGE : 1;
  return JSON.stringify({ messages: Array.from({ length: n }, (_, j) => ({ channel, data: { r, j, pad: PAD } })) });
}

async function history(sg: CollectorProcess, channel: string): Promise<{ offset: number; data: { r: number; j: number } }[]> {
  const out: { offset: number; data: { r: number; j: number } }[] = [];
  for (let after = 0; ;) {
    const page = await (await fetch(`${sg.url}/api/v1/messages?channel=${channel}&after=${after}&limit=10000`)).json();
    out.push(...page.messages);
    if (!page.more || page.messages.length === 0) {
      return out;
    }
    after = page.messages[page.messages.length - 1].offset;
  }
}

/** The (r, j) pairs in stored order, as "r:j" runs per request: ["0x4000", "1x1", …]. */
function runs(stored: { data: { r: number; j: number } }[]): string[] {
  const out: string[] = [];
  let r = -1;
  let n = 0;
  let j = 0;
  for (const m of stored) {
    if (m.data.r !== r) {
      if (n > 0) {
        out.push(`${r}x${n}`);
      }
      r = m.data.r;
      n = 0;
      j = 0;
    }
    expect(m.data.j).toBe(j++); // a batch is stored in its own order
    n++;
  }
  if (n > 0) {
    out.push(`${r}x${n}`);
  }
  return out;
}

describe('order between requests on one connection (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({
      config: {
        retention: { maxMessages: 10_000_000, checkIntervalMs: 600_000 },
        auth: { limits: { publishRequestsPerSecond: 0 } },
      },
    });
  });
  afterAll(async () => {
    await sg.stop();
    sg.cleanup();
  });

  test('behavior: pipelined publishes of very different sizes are stored in the order they were sent', async () => {
    const channel = 'order/pipelined';
    const REQUESTS = 60;
    const client = await RawClient.open(sg.port);
    // Everything written at once: the collector reads the requests back to back.
    client.socket.write(Array.from({ length: REQUESTS }, (_, r) => request(sg.port, publishBody(channel, r))).join(''));
    const answers = await client.take(REQUESTS);
    client.socket.destroy();
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const firstOffsets = answers.map((a) => (JSON.parse(a.body) as { offsets: { offset: number }[] }).offsets[0].offset);
    expect(firstOffsets).toEqual([...firstOffsets].sort((a, b) => a - b));
    const stored = await history(sg, channel);
    expect(runs(stored)).toEqual(Array.from({ length: REQUESTS }, (_, r) => `${r}x${r % 10 === 0 ? LARGE : 1}`));
  });

  test('behavior: a refused request in the middle of a pipeline does not stall the requests after it', async () => {
    const channel = 'order/failed';
    const client = await RawClient.open(sg.port);
    const reqs = [
      request(sg.port, publishBody(channel, 0)), // large: still being parsed while the next ones arrive
      request(sg.port, publishBody(channel, 1)),
      request(sg.port, JSON.stringify({ messages: [] })), // 400 from the route, before the hub
      request(sg.port, publishBody(channel, 2)),
      request(sg.port, JSON.stringify({ messages: [{ channel: 'bad name!', data: {} }] })), // 400 from the hub's validation
      request(sg.port, publishBody(channel, 3)),
      request(sg.port, 'plain text', 'text/plain'), // 415, no parser
      request(sg.port, publishBody(channel, 10)), // large again
      request(sg.port, publishBody(channel, 4)),
    ];
    client.socket.write(reqs.join(''));
    const answers = await client.take(reqs.length);
    client.socket.destroy();
    expect(answers.map((a) => a.status)).toEqual([200, 200, 400, 200, 400, 200, 415, 200, 200]);
    expect(runs(await history(sg, channel))).toEqual(['0x4000', '1x1', '2x1', '3x1', `10x${LARGE}`, '4x1']);
  });

  test('behavior: a body that cannot be parsed ends its connection after its answer, and nothing waits for it', async () => {
    const channel = 'order/bad-json';
    const client = await RawClient.open(sg.port);
    const reqs = [
      request(sg.port, publishBody(channel, 0)),
      request(sg.port, publishBody(channel, 1)),
      request(sg.port, '{"messages":[{"channel":'), // 400 SG_BAD_JSON; fastify then closes the connection
      request(sg.port, publishBody(channel, 2)),
      request(sg.port, publishBody(channel, 3)),
    ];
    client.socket.write(reqs.join(''));
    const answers = await client.take(3);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 400]);
    expect(answers[2].body).toContain('SG_BAD_JSON');
    await new Promise<void>((r) => (client.socket.destroyed ? r() : client.socket.once('close', () => r())));
    // A publish on a new connection is stored at once, after whatever the closed one had handed over.
    const next = await RawClient.open(sg.port);
    next.socket.write(request(sg.port, publishBody(channel, 9)));
    expect((await next.take(1))[0].status).toBe(200);
    next.socket.destroy();
    const stored = runs(await history(sg, channel));
    expect(stored.slice(0, 2)).toEqual(['0x4000', '1x1']);
    expect(stored[stored.length - 1]).toBe('9x1');
    // Requests read behind the bad one were never answered; those stored kept their order.
    const between = stored.slice(2, -1);
    expect([['2x1', '3x1'], ['2x1'], ['3x1'], []]).toContainEqual(between);
  });

  test('behavior: a request that never completes holds up no other connection', async () => {
    const channel = 'order/aborted';
    // Connection A: one complete publish, then a request whose body never comes; then it aborts.
    const a = await RawClient.open(sg.port);
    const partial = request(sg.port, publishBody(channel, 1));
    a.socket.write(request(sg.port, publishBody(channel, 0)) + partial.slice(0, partial.length - 10));
    expect((await a.take(1))[0].status).toBe(200);
    // Connection B publishes meanwhile: its requests do not wait for A's unfinished one.
    const b = await RawClient.open(sg.port);
    b.socket.write([2, 3, 4].map((r) => request(sg.port, publishBody(channel, r))).join(''));
    expect((await b.take(3)).map((x) => x.status)).toEqual([200, 200, 200]);
    a.socket.destroy();
    // A new request on B after A's abort is stored too: nothing stayed blocked.
    b.socket.write(request(sg.port, publishBody(channel, 5)));
    expect((await b.take(4))[3].status).toBe(200);
    b.socket.destroy();
    expect(runs(await history(sg, channel))).toEqual(['0x4000', '2x1', '3x1', '4x1', '5x1']);
  });
});

describe('requests in flight per connection (real collector)', () => {
  test('behavior: past limits.maxRequestsInFlightPerConnection the next pipelined request is refused with 429 SG_RATE_LIMITED', async () => {
    const sg = await startCollector({
      config: {
        limits: { maxRequestsInFlightPerConnection: 2 },
        auth: { limits: { publishRequestsPerSecond: 0 } },
      },
    });
    try {
      const channel = 'order/bounded';
      const client = await RawClient.open(sg.port);
      // The first (large) request is still being parsed when the next three arrive together.
      client.socket.write([0, 1, 2, 3].map((r) => request(sg.port, publishBody(channel, r === 0 ? 0 : r))).join(''));
      const answers = await client.take(4);
      client.socket.destroy();
      expect(answers[0].status).toBe(200);
      expect(answers.some((x) => x.status === 429 && x.body.includes('SG_RATE_LIMITED'))).toBe(true);
      // What was accepted is stored in the order sent.
      const accepted = [0, 1, 2, 3].filter((r) => answers[r].status === 200);
      expect(runs(await history(sg, channel))).toEqual(accepted.map((r) => `${r}x${r === 0 ? LARGE : 1}`));
    } finally {
      await sg.stop();
      sg.cleanup();
    }
  });
});
