/**
 * The client SDK against a real collector: batching, retry until the collector is up, bounded
 * queue (backpressure), isolation of a bad message, and subscriptions with a state snapshot and
 * resume across a collector restart (no gap, no duplicate).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, freePort, startCollector } from '../helpers/collector-process';
import { EVENT_TIMEOUT_MS } from '../helpers/deadlines';
import {
  type ConnectionState,
  type MessageItem,
  SdkErrorCode,
  StreamgaugeError,
  type WebSocketConstructor,
  createPublisher,
  createSubscriber,
} from '../../../sdk/src';

const CONFIG = {
  channels: {
    definitions: [
      { name: 'app/seq', kind: 'stream', fields: [{ name: 'n', type: 'number' }] },
      {
        name: 'app/components',
        kind: 'state',
        keyField: 'component',
        fields: [
          { name: 'component', type: 'string' },
          { name: 'status', type: 'string' },
        ],
      },
    ],
  },
};

/** fetch that counts requests and can hold each one back. */
function countingFetch(delayMs = 0): { fetch: typeof fetch; calls: () => number } {
  let n = 0;
  return {
    fetch: (async (input: any, init?: any) => {
      n++;
      if (delayMs) {
        await new Promise((r) => setTimeout(r, delayMs));
      }
      return fetch(input, init);
    }) as typeof fetch,
    calls: () => n,
  };
}

async function until(pred: () => boolean, timeoutMs = EVENT_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SDK publisher (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({ config: CONFIG });
  });
  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behaviour: 1000 publishes go out in 5 batches of 200, in order, each resolving with its offset', async () => {
    const f = countingFetch();
    const pub = createPublisher({ url: sg.url, fetch: f.fetch, maxBatch: 200 });
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => pub.publish({ channel: 'app/seq', data: { n: i + 1 } })));
    expect(results.map((r) => r.offset)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(f.calls()).toBe(5);
    const h = (await (await fetch(`${sg.url}/api/v1/messages?channel=app/seq&after=995`)).json()) as any;
    expect(h.messages.map((m: any) => m.data.n)).toEqual([996, 997, 998, 999, 1000]);
    await pub.close();
    await expect(pub.publish({ channel: 'app/seq', data: { n: 0 } })).rejects.toMatchObject({ code: SdkErrorCode.Closed });
  });

  test('behaviour: a full queue rejects with SDK_QUEUE_FULL (onFull reject) or waits for room (default)', async () => {
    const slow = countingFetch(200);
    const rejecting = createPublisher({ url: sg.url, fetch: slow.fetch, maxBatch: 2, maxQueue: 2, onFull: 'reject' });
    const first = [1, 2].map((n) => rejecting.publish({ channel: 'app/seq', data: { n } })); // in flight
    const queued = [3, 4].map((n) => rejecting.publish({ channel: 'app/seq', data: { n } })); // queue full
    await expect(rejecting.publish({ channel: 'app/seq', data: { n: 5 } })).rejects.toMatchObject({ code: SdkErrorCode.QueueFull });
    await Promise.all([...first, ...queued]);

    const waiting = createPublisher({ url: sg.url, fetch: slow.fetch, maxBatch: 2, maxQueue: 2 });
    const all = [1, 2, 3, 4, 5, 6].map((n) => waiting.publish({ channel: 'app/seq', data: { n } }));
    expect(waiting.queued).toBeLessThanOrEqual(2);
    const offsets = (await Promise.all(all)).map((r) => r.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(new Set(offsets).size).toBe(6);
    await waiting.close();
    await rejecting.close();
  });

  test('errors: a bad message is rejected with its own code, the others in its batch are stored', async () => {
    const pub = createPublisher({ url: sg.url, maxBatch: 10, lingerMs: 50 });
    const [a, bad, c] = await Promise.allSettled([
      pub.publish({ channel: 'app/seq', data: { n: 1 } }),
      pub.publish({ channel: 'app/seq', data: { n: 'two' } }),
      pub.publish({ channel: 'app/seq', data: { n: 3 } }),
    ]);
    expect(a.status).toBe('fulfilled');
    expect(c.status).toBe('fulfilled');
    expect(bad.status).toBe('rejected');
    const e = (bad as PromiseRejectedResult).reason as StreamgaugeError;
    expect(e).toBeInstanceOf(StreamgaugeError);
    expect(e).toMatchObject({ code: ErrorCode.SchemaMismatch, status: 422, retryable: false });
    expect(e.message).toBe('messages[0] on app/seq: field "n" must be number, got string "two"');
    await pub.close();
  });
});

describe('SDK publisher retry', () => {
  let sg: CollectorProcess | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'sg-sdk-retry-'));
  afterAll(async () => {
    await sg?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('behaviour: publishes retry with backoff until the collector comes up, then resolve', async () => {
    const port = await freePort();
    const counting = countingFetch();
    const pub = createPublisher({
      url: `http://127.0.0.1:${port}`,
      fetch: counting.fetch,
      retryBaseMs: 50,
      retryMaxMs: 300,
      maxRetries: 100,
    });
    const pending = pub.publish({ channel: 'app/seq', data: { n: 42 } });
    let settled = false;
    void pending.finally(() => (settled = true)).catch(() => undefined);
    // Wait for the retries themselves (three attempts at a closed port), not for an interval.
    await until(() => counting.calls() >= 3);
    expect(settled).toBe(false);
    sg = await startCollector({ config: CONFIG, port, dataDir });
    await expect(pending).resolves.toMatchObject({ channel: 'app/seq', offset: 1 });
    await pub.close();
  });

  test('errors: a refused request (SG_BAD_REQUEST) is not retried and comes back at once', async () => {
    const f = countingFetch();
    const pub = createPublisher({ url: sg!.url, fetch: f.fetch });
    await expect(pub.publish({ channel: 'app/seq', key: 'k', data: { n: 1 } })).rejects.toMatchObject({
      code: ErrorCode.BadRequest,
      status: 400,
    });
    expect(f.calls()).toBe(1);
    await pub.close();
  });
});

describe('SDK subscriber (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({ config: CONFIG });
  });
  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behaviour: a state channel delivers its snapshot first, then changes', async () => {
    const pub = createPublisher({ url: sg.url });
    await pub.publishMany([
      { channel: 'app/components', data: { component: 'camera', status: 'online' } },
      { channel: 'app/components', data: { component: 'cloud', status: 'online' } },
      { channel: 'app/components', data: { component: 'camera', status: 'offline' } },
    ]);
    const sub = createSubscriber({ url: sg.wsUrl, WebSocket: WebSocket as unknown as WebSocketConstructor });
    const got: { snapshot: boolean; data: unknown[] }[] = [];
    sub.subscribe('app/components', { onMessages: (msgs, ctx) => got.push({ snapshot: ctx.snapshot, data: msgs.map((m) => m.data) }) });
    await until(() => got.length === 1);
    expect(got[0].snapshot).toBe(true);
    expect(got[0].data).toEqual(
      expect.arrayContaining([
        { component: 'camera', status: 'offline' },
        { component: 'cloud', status: 'online' },
      ]),
    );
    expect(got[0].data).toHaveLength(2);
    await pub.publish({ channel: 'app/components', data: { component: 'cloud', status: 'degraded' } });
    await until(() => got.length === 2);
    expect(got[1]).toEqual({ snapshot: false, data: [{ component: 'cloud', status: 'degraded' }] });
    sub.close();
    await pub.close();
  });

  test('behaviour: after a collector restart the subscription resumes with no gap and no duplicate', async () => {
    const sub = createSubscriber({
      url: sg.wsUrl,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      reconnectBaseMs: 100,
      reconnectMaxMs: 500,
    });
    const states: ConnectionState[] = [];
    sub.onState((e) => states.push(e.newState));
    const received: MessageItem[] = [];
    let subscribed = 0;
    sub.subscribe('app/seq', { onMessages: (msgs) => received.push(...msgs), onSubscribed: () => subscribed++ });
    await until(() => subscribed === 1);
    let pub = createPublisher({ url: sg.url });
    const first = await pub.publishMany(Array.from({ length: 50 }, (_, i) => ({ channel: 'app/seq', data: { n: i + 1 } })));
    await until(() => received.length === 50);
    await pub.close();

    sg = await sg.restart();
    // Published before the subscriber is back: it must get them by replay, exactly once.
    pub = createPublisher({ url: sg.url });
    await pub.publishMany(Array.from({ length: 50 }, (_, i) => ({ channel: 'app/seq', data: { n: i + 51 } })));
    await until(() => received.length >= 100 && subscribed >= 2);
    await pub.publish({ channel: 'app/seq', data: { n: 101 } });
    await until(() => received.length >= 101);
    expect(received.map((m) => m.data.n)).toEqual(Array.from({ length: 101 }, (_, i) => i + 1));
    expect(received.map((m) => m.offset)).toEqual(Array.from({ length: 101 }, (_, i) => first[0].offset + i));
    expect(states).toEqual(expect.arrayContaining(['connecting', 'connected', 'reconnecting']));
    expect(states[states.length - 1]).toBe('connected');
    sub.close();
    expect(sub.state).toBe('closed');
    await pub.close();
  });
});
