/**
 * Each limit with its documented code, against real collector processes: new connections per IP
 * (HTTP 429 at the upgrade, SG_RATE_LIMITED), frames per connection (SG_RATE_LIMITED then 4429),
 * publish requests per key (429 + Retry-After), subscriptions per connection, channels in total,
 * body size and frame size. Every rate refusal shows in streamgauge_rate_limited_total{kind}.
 */
import WebSocket from 'ws';
import { CloseCode, ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { PUB_KEY, authConfig, bearer, getJson, sample, AUTH_ENV } from './fixtures';

/** Tries an upgrade; resolves with the HTTP status of a refusal and its JSON body, or 101. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body?: any; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101 });
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), retryAfter: res.headers['retry-after'] as string | undefined }),
      );
    });
    ws.once('error', reject);
  });
}

describe('rate limits (real collector)', () => {
  let sg: CollectorProcess;
  const clients: WsTestClient[] = [];

  beforeAll(async () => {
    sg = await startCollector({
      config: {
        auth: authConfig({
          limits: {
            connectionsPerIpPerSecond: 0.5,
            connectionsPerIpBurst: 6,
            wsMessagesPerSecond: 5,
            wsMessagesBurst: 10,
            wsMaxRefusedFrames: 50,
            publishRequestsPerSecond: 0.5,
            publishBurst: 3,
          },
        }),
      },
      env: AUTH_ENV,
    });
  });

  afterAll(async () => {
    for (const c of clients) {
      c.close();
    }
    await sg?.stop();
    sg?.cleanup();
  });

  // Order matters within this block: the per-IP connection budget (burst 6) is shared.
  test('behavior: too many frames get one SG_RATE_LIMITED error frame, then persistent flooding closes with 4429', async () => {
    const c = await WsTestClient.connect(sg.wsUrl, { headers: bearer(PUB_KEY) });
    clients.push(c);
    for (let i = 0; i < 200; i++) {
      c.send({ op: 'ping', id: i });
    }
    expect(await c.waitForClose()).toBe(CloseCode.RateLimited);
    // One error frame per run of refusals, not one per refused frame: between two error frames there
    // is always a pong (a frame served after a token refilled). How many runs there are depends on
    // the machine's speed (token refill is by wall clock), so only their separation is asserted.
    const errors = c.frames.filter((f) => f.type === 'error');
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set([ErrorCode.RateLimited]));
    const kinds = c.frames.filter((f) => f.type === 'error' || f.type === 'pong').map((f) => f.type);
    const firstError = kinds.indexOf('error');
    expect(kinds.slice(firstError).join(' ')).not.toContain('error error');
    // Closed after wsMaxRefusedFrames (50) refusals: at most 200 - 50 of the 200 pings were served.
    expect(c.frames.filter((f) => f.type === 'pong').length).toBeLessThanOrEqual(150);
  });

  test('behavior: a client over the frame rate that slows down is served again', async () => {
    const c = await WsTestClient.connect(sg.wsUrl, { headers: bearer(PUB_KEY) });
    clients.push(c);
    for (let i = 0; i < 12; i++) {
      c.send({ op: 'ping', id: i });
    }
    await c.waitFor((f) => f.type === 'error' && f.code === ErrorCode.RateLimited);
    // The bucket refills by wall clock (5 tokens/s): 500 ms is 2.5 tokens whatever the machine's
    // load, so this wait is for the refill itself and cannot be too short on a slow machine.
    await new Promise((r) => setTimeout(r, 500));
    c.send({ op: 'ping', id: 'later' });
    await c.waitFor((f) => f.id === 'later' && f.type === 'pong');
    expect(c.closeCode).toBeNull();
  });

  test('behavior: publish requests over the per-key rate get 429 SG_RATE_LIMITED with Retry-After', async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await fetch(`${sg.url}/api/v1/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(PUB_KEY) },
        body: JSON.stringify({ channel: 'app/rate', data: { i } }),
      });
      statuses.push(last.status);
      if (last.status === 429) {
        expect(last.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(((await last.json()) as any).error.code).toBe(ErrorCode.RateLimited);
      } else {
        await last.text();
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  test('behavior: new connections over the per-IP rate are refused at the upgrade with HTTP 429 SG_RATE_LIMITED', async () => {
    const results = [];
    for (let i = 0; i < 8; i++) {
      results.push(await upgradeStatus(sg.wsUrl, bearer(PUB_KEY)));
    }
    const refused = results.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0].body.error.code).toBe(ErrorCode.RateLimited);
    expect(refused[0].retryAfter).toBe('1');
    const sse = await getJson(`${sg.url}/api/v1/stream?channels=app/rate`, bearer(PUB_KEY));
    expect(sse.status).toBe(429);
    expect(sse.body.error.code).toBe(ErrorCode.RateLimited);
  });

  test('behavior: each refusal kind is counted in streamgauge_rate_limited_total', async () => {
    const m = await getJson(`${sg.url}/metrics`);
    expect(sample(m.body, 'streamgauge_rate_limited_total{kind="ws_message"}')).toBeGreaterThanOrEqual(50);
    expect(sample(m.body, 'streamgauge_rate_limited_total{kind="publish"}')).toBe(2);
    expect(sample(m.body, 'streamgauge_rate_limited_total{kind="connection"}')).toBeGreaterThanOrEqual(2);
  });
});

describe('size and count limits (real collector)', () => {
  let sg: CollectorProcess;
  const clients: WsTestClient[] = [];

  beforeAll(async () => {
    sg = await startCollector({
      config: {
        ws: { maxSubscriptionsPerConnection: 2, maxPayloadBytes: 1024 },
        channels: { maxChannels: 10 },
        limits: { maxBodyBytes: 4096, maxMessageBytes: 1024 },
      },
    });
    for (const channel of ['a/1', 'a/2', 'a/3']) {
      expect((await publish(sg.url, { channel, data: { n: 1 } })).status).toBe(200);
    }
  });

  afterAll(async () => {
    for (const c of clients) {
      c.close();
    }
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: subscriptions beyond ws.maxSubscriptionsPerConnection get SG_SUBSCRIPTION_LIMIT, the others keep running', async () => {
    const c = await WsTestClient.connect(sg.wsUrl);
    clients.push(c);
    expect((await c.subscribe('a/1')).type).toBe('subscribed');
    expect((await c.subscribe('a/2')).type).toBe('subscribed');
    expect(await c.subscribe('a/3')).toMatchObject({ type: 'error', code: ErrorCode.SubscriptionLimit });
    await publish(sg.url, { channel: 'a/1', data: { n: 2 } });
    await c.waitForOffset('a/1', 2);
  });

  test('behavior: a new channel beyond channels.maxChannels is refused with 409 SG_CHANNEL_LIMIT', async () => {
    // Other features may declare channels of their own: fill up to the limit, whatever it leaves.
    let r = { status: 200, body: undefined as any };
    for (let i = 4; i <= 12 && r.status === 200; i++) {
      r = await publish(sg.url, { channel: `a/${i}`, data: { n: 1 } });
    }
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe(ErrorCode.ChannelLimit);
    expect((await getJson(`${sg.url}/api/v1/channels`)).body.channels.length).toBe(10);
  });

  test('behavior: a body over limits.maxBodyBytes is refused with 413 SG_PAYLOAD_TOO_LARGE', async () => {
    const r = await publish(sg.url, { channel: 'a/1', data: { s: 'x'.repeat(8192) } });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe(ErrorCode.PayloadTooLarge);
  });

  test('behavior: a frame over ws.maxPayloadBytes closes the connection with 1009', async () => {
    const c = await WsTestClient.connect(sg.wsUrl);
    clients.push(c);
    c.send({ op: 'ping', pad: 'x'.repeat(2048) });
    expect(await c.waitForClose()).toBe(CloseCode.MessageTooBig);
  });
});
