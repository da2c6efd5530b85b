/**
 * SSE with single-use stream tickets, and /metrics behind a bearer token on a port of its own,
 * against real collector processes.
 */
import { ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, freePort, publish, startCollector } from '../helpers/collector-process';
import { ADMIN_KEY, AUTH_ENV, PUB_KEY, READER_KEY, authConfig, bearer, getJson, mintToken, sample } from './fixtures';

/** Opens an SSE stream and resolves with the first event of type `event` (then aborts), or the HTTP error. */
async function firstSseEvent(
  url: string,
  event: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; data?: any; body?: any }> {
  const ac = new AbortController();
  const r = await fetch(url, { headers, signal: ac.signal });
  if (r.status !== 200) {
    return { status: r.status, body: await r.json() };
  }
  const reader = r.body!.getReader();
  let buf = '';
  const deadline = Date.now() + 10_000;
  try {
    while (Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      buf += Buffer.from(value).toString();
      for (const block of buf.split('\n\n')) {
        const lines = block.split('\n');
        if (lines.includes(`event: ${event}`)) {
          const data = lines.find((l) => l.startsWith('data: '));
          return { status: 200, data: data ? JSON.parse(data.slice(6)) : undefined };
        }
      }
    }
    throw new Error(`no ${event} event; got ${buf}`);
  } finally {
    ac.abort();
  }
}

async function ticket(url: string, key: string): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}/api/v1/stream-ticket`, { method: 'POST', headers: bearer(key) });
  return { status: r.status, body: await r.json() };
}

describe('SSE stream tickets (real collector)', () => {
  let sg: CollectorProcess;

  beforeAll(async () => {
    sg = await startCollector({ config: { auth: authConfig() }, env: AUTH_ENV });
    for (const channel of ['app/public/a', 'app/private/b']) {
      expect((await publish(sg.url, { channel, data: { n: 1 } }, bearer(ADMIN_KEY))).status).toBe(200);
    }
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: SSE without credentials is refused with 401 SG_UNAUTHORIZED', async () => {
    const r = await firstSseEvent(`${sg.url}/api/v1/stream?channels=app/public/a`, 'subscribed');
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe(ErrorCode.Unauthorized);
  });

  test('behavior: a ticket opens one stream with the scopes of its key, and only once', async () => {
    const t = await ticket(sg.url, READER_KEY);
    expect(t.status).toBe(200);
    expect(t.body.expiresAt).toBeLessThanOrEqual(Date.now() + 31_000);
    const url = `${sg.url}/api/v1/stream?channels=app/public/a&last=1&ticket=${t.body.ticket}`;
    const first = await firstSseEvent(url, 'messages');
    expect(first.data.channel).toBe('app/public/a');
    const again = await firstSseEvent(url, 'messages');
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe(ErrorCode.Unauthorized);
  });

  test('behavior: a ticket stream refuses channels outside the key scope with an SG_FORBIDDEN error event', async () => {
    const t = await ticket(sg.url, READER_KEY);
    const r = await firstSseEvent(`${sg.url}/api/v1/stream?channels=app/private/b&ticket=${t.body.ticket}`, 'error');
    expect(r.data).toMatchObject({ code: ErrorCode.Forbidden, channel: 'app/private/b' });
  });

  test('behavior: a ticket can be minted with a token, and a token in the query string is not a credential', async () => {
    const tok = await mintToken(sg.url, READER_KEY, { ttlSeconds: 60 });
    const t = await ticket(sg.url, tok.body.token);
    expect(t.status).toBe(200);
    expect(t.body.expiresAt).toBeLessThanOrEqual(tok.body.expiresAt);
    const viaQuery = await firstSseEvent(`${sg.url}/api/v1/stream?channels=app/public/a&token=${tok.body.token}`, 'subscribed');
    expect(viaQuery.status).toBe(401);
  });

  test('behavior: SSE also takes the API key in a header (non-browser clients)', async () => {
    const r = await firstSseEvent(`${sg.url}/api/v1/stream?channels=app/public/a`, 'subscribed', { 'x-api-key': READER_KEY });
    expect(r.data.channel).toBe('app/public/a');
  });
});

describe('/metrics protection (real collector)', () => {
  let sg: CollectorProcess;
  let metricsPort: number;
  const METRICS_TOKEN = 'metrics-token-0123456789';

  beforeAll(async () => {
    metricsPort = await freePort();
    sg = await startCollector({
      config: { auth: { metrics: { port: metricsPort, bearerTokenEnv: 'SG_TEST_METRICS_TOKEN' } } },
      env: { SG_TEST_METRICS_TOKEN: METRICS_TOKEN },
    });
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: /metrics is served on auth.metrics.port and not on the main port', async () => {
    const main = await getJson(`${sg.url}/metrics`, bearer(METRICS_TOKEN));
    expect(main.status).toBe(404);
    const sep = await getJson(`http://127.0.0.1:${metricsPort}/metrics`, bearer(METRICS_TOKEN));
    expect(sep.status).toBe(200);
    expect(sep.body).toContain('streamgauge_rate_limited_total');
  });

  test('behavior: /metrics without the bearer token is refused with 401 SG_UNAUTHORIZED and counted', async () => {
    const none = await getJson(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe(ErrorCode.Unauthorized);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const wrong = await getJson(`http://127.0.0.1:${metricsPort}/metrics`, bearer('wrong-token-0123456789'));
    expect(wrong.status).toBe(401);
    const ok = await getJson(`http://127.0.0.1:${metricsPort}/metrics`, bearer(METRICS_TOKEN));
    expect(sample(ok.body, 'streamgauge_auth_failures_total{transport="metrics",reason="missing"}')).toBe(1);
    expect(sample(ok.body, 'streamgauge_auth_failures_total{transport="metrics",reason="invalid"}')).toBe(1);
    expect(sg.output()).not.toContain(METRICS_TOKEN);
  });

  test('behavior: the main API still works next to the separate metrics port (auth off on loopback)', async () => {
    expect((await publish(sg.url, { channel: 'app/x', data: { n: 1 } })).status).toBe(200);
    expect(sg.output()).toContain('auth_disabled');
  });
});

describe('safe defaults at startup', () => {
  test('behavior: with no keys, a non-loopback host is refused before listening (exit 78, insecure_refused)', async () => {
    await expect(startCollector({ env: { SG_HOST: '0.0.0.0' } })).rejects.toThrow(/exited with 78[\s\S]*insecure_refused/);
  });

  test('behavior: a keyEnv naming an unset variable fails at startup with a message naming it (exit 78)', async () => {
    await expect(startCollector({ config: { auth: authConfig() } })).rejects.toThrow(
      /exited with 78[\s\S]*SG_TEST_ADMIN_KEY \(keyEnv\) is not set/,
    );
  });

  test('behavior: a key given twice or with an invalid scope pattern fails at startup', async () => {
    const config = {
      auth: {
        keys: [
          { name: 'a', key: PUB_KEY, scopes: { publish: ['App/*'] } },
          { name: 'a', key: READER_KEY, keyHash: 'ab'.repeat(32), scopes: {} },
        ],
      },
    };
    const err = await startCollector({ config }).catch((e: Error) => e.message);
    expect(err).toContain('scopes.publish[0] "App/*": not a channel name or pattern');
    expect(err).toContain('name is used twice');
    expect(err).toContain('give exactly one of key, keyHash');
  });
});
