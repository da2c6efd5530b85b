/**
 * Authentication on the WebSocket against a real collector process: API key on the upgrade, the
 * `auth` frame for clients that cannot set headers, per-channel scope refusals that leave the
 * other subscriptions running, token expiry (4401) and refresh on the open connection.
 */
import { CloseCode, ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { ADMIN_KEY, AUTH_ENV, PUB_KEY, READER_KEY, authConfig, bearer, getJson, mintToken, sample } from './fixtures';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WebSocket authentication (real collector)', () => {
  let sg: CollectorProcess;
  const clients: WsTestClient[] = [];
  const connect = async (headers: Record<string, string> = {}): Promise<WsTestClient> => {
    const c = await WsTestClient.connect(sg.wsUrl, { headers });
    clients.push(c);
    await c.waitFor((f) => f.type === 'welcome');
    return c;
  };

  beforeAll(async () => {
    sg = await startCollector({
      config: {
        auth: authConfig({ limits: { authTimeoutMs: 1_000 } }),
        ws: { heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 500 },
      },
      env: AUTH_ENV,
    });
    for (const channel of ['app/public/a', 'app/private/b', 'evm/c']) {
      expect((await publish(sg.url, { channel, data: { n: 0 } }, bearer(ADMIN_KEY))).status).toBe(200);
    }
  });

  afterEach(() => {
    for (const c of clients.splice(0)) {
      c.close();
    }
  });

  afterAll(async () => {
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: the Origin check stays on with auth: a cross-site upgrade is refused with HTTP 403 even with a valid key', async () => {
    await expect(WsTestClient.connect(sg.wsUrl, { headers: { origin: 'https://evil.example', 'x-api-key': READER_KEY } })).rejects.toThrow(
      'HTTP 403',
    );
    const sameSite = await connect({ origin: `http://127.0.0.1:${sg.port}`, 'x-api-key': READER_KEY });
    expect((await sameSite.subscribe('app/public/a')).type).toBe('subscribed');
  });

  test('behavior: an upgrade with a wrong key is refused with HTTP 401', async () => {
    await expect(WsTestClient.connect(sg.wsUrl, { headers: bearer('wrong-key-0123456789') })).rejects.toThrow('HTTP 401');
  });

  test('behavior: a key on the upgrade subscribes within its scope; outside it, SG_FORBIDDEN per channel and the connection stays open', async () => {
    const c = await connect({ 'x-api-key': READER_KEY });
    const ok = await c.subscribe('app/public/a');
    expect(ok.type).toBe('subscribed');
    const refused = await c.subscribe('app/private/b');
    expect(refused).toMatchObject({ type: 'error', code: ErrorCode.Forbidden, channel: 'app/private/b' });
    const refused2 = await c.subscribe('evm/c');
    expect(refused2).toMatchObject({ type: 'error', code: ErrorCode.Forbidden });
    expect((await publish(sg.url, { channel: 'app/public/a', data: { n: 1 } }, bearer(PUB_KEY))).status).toBe(200);
    await c.waitForOffset('app/public/a', 2);
    expect(c.closeCode).toBeNull();
  });

  test('behavior: a pattern subscription delivers only the channels in scope', async () => {
    const c = await connect(bearer(READER_KEY));
    const from = c.frames.length;
    c.send({ op: 'subscribe', id: 'p', channel: 'app/**' });
    await c.waitFor((f) => f.type === 'subscribed' && f.channel === 'app/public/a', 5_000, from);
    await publish(sg.url, { channel: 'app/private/b', data: { n: 1 } }, bearer(PUB_KEY));
    await publish(sg.url, { channel: 'app/public/a', data: { n: 2 } }, bearer(PUB_KEY));
    await c.waitFor((f) => f.type === 'messages' && f.channel === 'app/public/a' && f.messages.some((m: any) => m.data.n === 2));
    expect(c.frames.filter((f) => f.channel === 'app/private/b')).toEqual([]);
  });

  test('behavior: without credentials the socket opens, refuses subscribe with SG_UNAUTHORIZED until an auth frame, then works', async () => {
    const c = await connect();
    const early = await c.subscribe('app/public/a');
    expect(early).toMatchObject({ type: 'error', code: ErrorCode.Unauthorized });
    const t = await mintToken(sg.url, READER_KEY, { ttlSeconds: 60 });
    c.send({ op: 'auth', id: 'a1', token: t.body.token });
    const ok = await c.waitFor((f) => f.id === 'a1');
    expect(ok).toMatchObject({ type: 'auth_ok', expiresAt: t.body.expiresAt });
    expect((await c.subscribe('app/public/a')).type).toBe('subscribed');
    expect((await c.subscribe('app/private/b')).code).toBe(ErrorCode.Forbidden);
  });

  test('behavior: a connection that does not authenticate within auth.limits.authTimeoutMs is closed with 4401', async () => {
    const c = await connect();
    expect(await c.waitForClose(5_000)).toBe(CloseCode.Unauthorized);
  });

  test('behavior: a bad token as first authentication closes the connection with 4401 after an SG_UNAUTHORIZED frame', async () => {
    const c = await connect();
    c.send({ op: 'auth', id: 1, token: 'eyJhbGciOiJIUzI1NiJ9.e30.AAAA' });
    expect(await c.waitFor((f) => f.id === 1)).toMatchObject({ type: 'error', code: ErrorCode.Unauthorized });
    expect(await c.waitForClose()).toBe(CloseCode.Unauthorized);
  });

  test('behavior: a token that expires without refresh closes the connection with 4401', async () => {
    const c = await connect();
    const t = await mintToken(sg.url, READER_KEY, { ttlSeconds: 1 });
    c.send({ op: 'auth', id: 1, token: t.body.token });
    await c.waitFor((f) => f.type === 'auth_ok');
    expect(await c.waitForClose(5_000)).toBe(CloseCode.Unauthorized);
    expect(c.closeReason).toBe('token expired');
  });

  test('behavior: an expired token is refused with SG_UNAUTHORIZED', async () => {
    const t = await mintToken(sg.url, READER_KEY, { ttlSeconds: 1 });
    await sleep(2_100);
    const c = await connect();
    c.send({ op: 'auth', id: 1, token: t.body.token });
    const e = await c.waitFor((f) => f.id === 1);
    expect(e).toMatchObject({ type: 'error', code: ErrorCode.Unauthorized });
    expect(e.message).toContain('expired');
  });

  test('behavior: refreshing with a new token on the open connection keeps it open past the first expiry, subscriptions intact', async () => {
    const c = await connect();
    const t1 = await mintToken(sg.url, READER_KEY, { ttlSeconds: 2 });
    c.send({ op: 'auth', id: 1, token: t1.body.token });
    await c.waitFor((f) => f.id === 1 && f.type === 'auth_ok');
    expect((await c.subscribe('app/public/a')).type).toBe('subscribed');
    const t2 = await mintToken(sg.url, READER_KEY, { ttlSeconds: 60 });
    c.send({ op: 'auth', id: 2, token: t2.body.token });
    expect(await c.waitFor((f) => f.id === 2)).toMatchObject({ type: 'auth_ok', expiresAt: t2.body.expiresAt });
    await sleep(3_000);
    expect(c.closeCode).toBeNull();
    expect((await publish(sg.url, { channel: 'app/public/a', data: { n: 99 } }, bearer(PUB_KEY))).status).toBe(200);
    await c.waitFor((f) => f.type === 'messages' && f.messages.some((m: any) => m.data.n === 99));
  });

  test('behavior: a refresh with another key token is refused with SG_FORBIDDEN and the connection keeps its identity', async () => {
    const c = await connect();
    const t1 = await mintToken(sg.url, READER_KEY, { ttlSeconds: 60 });
    c.send({ op: 'auth', id: 1, token: t1.body.token });
    await c.waitFor((f) => f.id === 1 && f.type === 'auth_ok');
    const other = await mintToken(sg.url, ADMIN_KEY, { ttlSeconds: 60 });
    c.send({ op: 'auth', id: 2, token: other.body.token });
    expect(await c.waitFor((f) => f.id === 2)).toMatchObject({ type: 'error', code: ErrorCode.Forbidden });
    expect((await c.subscribe('evm/c')).code).toBe(ErrorCode.Forbidden);
  });

  test('behavior: WebSocket refusals are counted by reason in streamgauge_auth_failures_total{transport="ws"}', async () => {
    const m = await getJson(`${sg.url}/metrics`);
    expect(sample(m.body, 'streamgauge_auth_failures_total{transport="ws",reason="invalid"}')).toBeGreaterThanOrEqual(2);
    expect(sample(m.body, 'streamgauge_auth_failures_total{transport="ws",reason="expired"}')).toBeGreaterThanOrEqual(1);
    expect(sg.output()).not.toContain(READER_KEY);
  });

  test('behavior: a token in the Authorization header of the upgrade is accepted', async () => {
    const t = await mintToken(sg.url, READER_KEY, { ttlSeconds: 60 });
    const c = await connect(bearer(t.body.token));
    expect((await c.subscribe('app/public/a')).type).toBe('subscribed');
  });
});
