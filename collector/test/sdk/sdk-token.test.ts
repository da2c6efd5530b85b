/**
 * Regression: the SDK subscriber with getToken against a real collector with API keys and tokens.
 * It used to send `auth` and the `subscribe` frames at once; the collector verifies the token
 * asynchronously, refused the subscribes (SG_UNAUTHORIZED … authenticate first) and the SDK never
 * retried, so no data ever came. Now auth_ok comes before any subscribe (@streamgauge/client).
 */
import WebSocket from 'ws';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { type MessageItem, type WebSocketConstructor, createSubscriber } from '../../../sdk/src';

const API_KEY = 'sg-sdk-token-key-0123456789abcdef0123';

async function until(pred: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SDK subscriber with tokens (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({
      config: {
        auth: {
          keys: [{ name: 'app', key: API_KEY, scopes: { subscribe: ['**'], publish: ['**'] } }],
          tokens: { secret: 'y'.repeat(40), maxTtlSeconds: 600 },
        },
        channels: { definitions: [{ name: 'app/ticks', kind: 'stream', fields: [{ name: 'n', type: 'number' }] }] },
      },
    });
  });
  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('regression: with getToken the subscriber authenticates first, then subscribes and gets data', async () => {
    const asked: string[][] = [];
    const getToken = async (channels: readonly string[]) => {
      asked.push([...channels]);
      const r = await fetch(`${sg.url}/api/v1/token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        // Subscribe-only and limited to the channels the connection uses.
        body: JSON.stringify({ ttlSeconds: 60, scopes: { publish: [], subscribe: channels } }),
      });
      expect(r.status).toBe(200);
      return ((await r.json()) as { token: string }).token;
    };
    const sub = createSubscriber({ url: sg.wsUrl, WebSocket: WebSocket as unknown as WebSocketConstructor, getToken });
    const got: MessageItem[] = [];
    const errors: string[] = [];
    let subscribed = 0;
    sub.subscribe('app/ticks', {
      onMessages: (m) => got.push(...m),
      onSubscribed: () => subscribed++,
      onError: (e) => errors.push(`${e.code}: ${e.message}`),
    });
    try {
      await until(() => subscribed === 1);
      const r = await publish(
        sg.url,
        { messages: [1, 2, 3].map((n) => ({ channel: 'app/ticks', data: { n } })) },
        { authorization: `Bearer ${API_KEY}` },
      );
      expect(r.status).toBe(200);
      await until(() => got.length === 3);
      expect(got.map((m) => m.data.n)).toEqual([1, 2, 3]);
      expect(errors).toEqual([]);
      expect(asked).toEqual([['app/ticks']]);
      expect(sub.state).toBe('connected');
    } finally {
      sub.close();
    }
  });
});
