/**
 * The client core against a scripted socket and a fake clock: multiplexing and reference counts,
 * auth before subscribe and refresh without re-subscribing, teardown at every stage, resets during
 * a hole fill, polling fallback and return, and every close code of docs/protocol.md.
 */
import type { MessageItem, Position } from '@streamgauge/protocol';
import type { ChannelHandler, ResetInfo } from '../channel-subscription';
import { ProtocolClient, type ClientOptions } from '../protocol-client';
import { ConnectionState, type StateChange } from '../state';
import { FakeClock, FakeCollector, ScriptedSocket, flush, msg } from './fakes';

let clock: FakeClock;
const clients: ProtocolClient[] = [];

beforeEach(() => {
  ScriptedSocket.reset();
  clock = new FakeClock();
});

afterEach(() => {
  for (const c of clients.splice(0)) {
    c.close();
  }
});

function client(o: Partial<ClientOptions> = {}): ProtocolClient {
  const c = new ProtocolClient({
    wsUrl: 'ws://collector/ws',
    WebSocket: ScriptedSocket,
    clock,
    // Always the top of the backoff interval: delays are then exact in tests.
    random: () => 0.999,
    minReconnectDelayMs: 100,
    maxReconnectDelayMs: 1_000,
    idleCloseMs: 500,
    ...o,
  });
  clients.push(c);
  return c;
}

/** A handler that records what it gets. */
function recorder(extra: Partial<ChannelHandler> = {}) {
  const got: MessageItem[] = [];
  const errors: string[] = [];
  const resets: ResetInfo[] = [];
  const h: ChannelHandler = {
    onMessages: (items) => got.push(...items),
    onError: (e) => errors.push(`${e.code}: ${e.message}`),
    ...extra,
  };
  return { h, got, errors, resets, offsets: () => got.map((m) => m.offset) };
}

const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);

describe('connect, welcome and multiplexing', () => {
  test('behaviour: listeners of one channel share one subscribe; the last unsubscribe unsubscribes; idle closes the socket', async () => {
    const sg = new FakeCollector(clock, ['a/x', 'a/y']);
    const c = client({ rest: sg.rest });
    const states: StateChange[] = [];
    c.onState((s) => states.push(s));
    const r1 = recorder();
    const r2 = recorder();
    const r3 = recorder();
    const u1 = c.subscribe('a/x', undefined, r1.h);
    const u2 = c.subscribe('a/x', undefined, r2.h);
    const u3 = c.subscribe('a/y', undefined, r3.h);
    expect(c.refCounts).toEqual({ channels: 2, listeners: 3 });
    await clock.advance(5);
    const ws = ScriptedSocket.last;
    expect(ScriptedSocket.all).toHaveLength(1);
    expect(ws.ops('subscribe').map((f) => f.channel)).toEqual(['a/x', 'a/y']);
    sg.publish('a/x', 3);
    sg.publish('a/y', 1);
    expect(r1.offsets()).toEqual([1, 2, 3]);
    expect(r2.offsets()).toEqual([1, 2, 3]);
    expect(r3.offsets()).toEqual([1]);
    u1();
    expect(ws.ops('unsubscribe')).toEqual([]);
    u2();
    expect(ws.ops('unsubscribe').map((f) => f.channel)).toEqual(['a/x']);
    sg.publish('a/x', 1);
    expect(r1.offsets()).toEqual([1, 2, 3]);
    u3();
    expect(c.refCounts).toEqual({ channels: 0, listeners: 0 });
    await clock.advance(499);
    expect(ws.closedByClient).toBeUndefined();
    await clock.advance(1);
    expect(ws.closedByClient).toEqual({ code: 1000, reason: 'idle' });
    expect(states.map((s) => `${s.oldState}>${s.newState}`)).toEqual(['idle>connecting', 'connecting>connected', 'connected>idle']);
    expect(clock.pending).toBe(0);
  });

  test('behaviour: a listener joining a channel delivered further on gets the hole from REST first, in order', async () => {
    const sg = new FakeCollector(clock, ['a/x']);
    const c = client({ rest: sg.rest });
    const r1 = recorder();
    c.subscribe('a/x', undefined, r1.h);
    await clock.advance(5);
    sg.publish('a/x', 10);
    const r2 = recorder();
    c.subscribe('a/x', { epoch: sg.logs.get('a/x')!.epoch, offset: 4 }, r2.h);
    sg.publish('a/x', 2);
    await clock.advance(1);
    expect(r2.offsets()).toEqual(range(5, 12));
    expect(c.stats.catchUps).toBe(1);
  });

  test('behaviour: a state channel snapshot is passed on marked as such, positions untouched', async () => {
    const c = client();
    const snaps: boolean[] = [];
    const got: number[] = [];
    c.subscribe('a/s', undefined, {
      onMessages: (items, _e, info) => (snaps.push(info.snapshot), got.push(...items.map((m) => m.offset))),
    });
    await clock.advance(1);
    const ws = ScriptedSocket.last;
    ws.open();
    ws.welcome();
    ws.frame({
      type: 'subscribed',
      id: 1,
      channel: 'a/s',
      epoch: 'e',
      offset: 9,
      recovered: true,
      firstOffset: 1,
      lastOffset: 9,
      kind: 'state',
      schema: { fields: [], declared: false },
    });
    ws.frame({ type: 'messages', channel: 'a/s', epoch: 'e', snapshot: true, messages: [msg(3), msg(9)] });
    ws.frame({ type: 'messages', channel: 'a/s', epoch: 'e', messages: [msg(10)] });
    expect(snaps).toEqual([true, false]);
    expect(got).toEqual([3, 9, 10]);
  });

  test('behaviour: a pattern resumes by time and drops what the replay repeats', async () => {
    const c = client();
    const got: string[] = [];
    c.subscribe('a/*', undefined, { onMessages: (items, _e, info) => got.push(...items.map((m) => `${info.channel}:${m.offset}`)) });
    await clock.advance(1);
    let ws = ScriptedSocket.last;
    ws.open();
    ws.welcome();
    expect(ws.ops('subscribe')[0]).toMatchObject({ channel: 'a/*' });
    ws.frame({ type: 'messages', channel: 'a/x', epoch: 'e', messages: [msg(1, 100), msg(2, 200)] });
    ws.serverClose(1001);
    await clock.advance(100);
    ws = ScriptedSocket.last;
    ws.open();
    ws.welcome();
    expect(ws.ops('subscribe')[0]).toMatchObject({ channel: 'a/*', since: { time: 200 } });
    ws.frame({ type: 'messages', channel: 'a/x', epoch: 'e', messages: [msg(2, 200), msg(3, 300)] });
    expect(got).toEqual(['a/x:1', 'a/x:2', 'a/x:3']);
  });
});

describe('auth and token refresh', () => {
  function tokenSource() {
    const asked: string[][] = [];
    let n = 0;
    return { asked, getToken: async (channels: readonly string[]) => (asked.push([...channels]), { token: `t${++n}` }) };
  }

  test('behaviour: auth goes first; subscribe waits for auth_ok', async () => {
    const t = tokenSource();
    const c = client({ getToken: t.getToken });
    c.subscribe('a/x', undefined, recorder().h);
    await clock.advance(1);
    const ws = ScriptedSocket.last;
    ws.open();
    ws.welcome();
    await flush();
    expect(ws.sent.map((f) => f.op)).toEqual(['auth']);
    expect(t.asked).toEqual([['a/x']]);
    expect(c.state).toBe(ConnectionState.Connecting);
    ws.frame({ type: 'auth_ok', id: ws.sent[0].id, expiresAt: clock.now() + 100_000 });
    expect(ws.sent.map((f) => f.op)).toEqual(['auth', 'subscribe']);
    expect(c.state).toBe(ConnectionState.Connected);
  });

  test('regression: a token refresh, also during a replay, never re-sends subscribe', async () => {
    const t = tokenSource();
    const c = client({ getToken: t.getToken });
    const r = recorder();
    c.subscribe('a/x', { epoch: 'e', offset: 0 }, r.h);
    await clock.advance(1);
    const ws = ScriptedSocket.last;
    ws.open();
    ws.welcome();
    await flush();
    ws.frame({ type: 'auth_ok', id: ws.sent[0].id, expiresAt: clock.now() + 10_000 });
    ws.frame({
      type: 'subscribed',
      id: 1,
      channel: 'a/x',
      epoch: 'e',
      offset: 0,
      recovered: true,
      firstOffset: 1,
      lastOffset: 500,
      kind: 'stream',
      schema: { fields: [], declared: false },
    });
    ws.frame({ type: 'messages', channel: 'a/x', epoch: 'e', messages: range(1, 100).map((o) => msg(o)) });
    // 80 % of the 10 s lifetime: the refresh goes out in the middle of the replay.
    await clock.advance(8_000);
    expect(ws.ops('auth')).toHaveLength(2);
    ws.frame({ type: 'messages', channel: 'a/x', epoch: 'e', messages: range(101, 200).map((o) => msg(o)) });
    ws.frame({ type: 'auth_ok', id: ws.ops('auth')[1].id, expiresAt: clock.now() + 10_000 });
    ws.frame({ type: 'messages', channel: 'a/x', epoch: 'e', messages: range(201, 500).map((o) => msg(o)) });
    await clock.advance(8_000);
    ws.frame({ type: 'auth_ok', id: ws.ops('auth')[2].id, expiresAt: clock.now() + 10_000 });
    expect(ws.ops('subscribe')).toHaveLength(1);
    expect(c.stats.subscribesSent).toBe(1);
    expect(r.offsets()).toEqual(range(1, 500));
    expect(r.errors).toEqual([]);
  });

  test('behaviour: a channel outside the token is subscribed after a token that covers it', async () => {
    const t = tokenSource();
    const c = client({ getToken: t.getToken });
    c.subscribe('a/x', undefined, recorder().h);
    await clock.advance(1);
    const ws = ScriptedSocket.last;
    ws.open();
    ws.welcome();
    await flush();
    ws.frame({ type: 'auth_ok', id: ws.sent[0].id, expiresAt: clock.now() + 100_000 });
    c.subscribe('a/y', undefined, recorder().h);
    await flush();
    expect(ws.sent.map((f) => `${f.op}:${f.channel ?? ''}`)).toEqual(['auth:', 'subscribe:a/x', 'auth:']);
    expect(t.asked).toEqual([['a/x'], ['a/x', 'a/y']]);
    ws.frame({ type: 'auth_ok', id: ws.ops('auth')[1].id, expiresAt: clock.now() + 100_000 });
    expect(ws.sent.map((f) => `${f.op}:${f.channel ?? ''}`)).toEqual(['auth:', 'subscribe:a/x', 'auth:', 'subscribe:a/y']);
  });

  test('errors: a refused first token drops the socket and reconnects with a fresh one', async () => {
    const t = tokenSource();
    const c = client({ getToken: t.getToken });
    c.subscribe('a/x', undefined, recorder().h);
    await clock.advance(1);
    const ws = ScriptedSocket.last;
    ws.open();
    ws.welcome();
    await flush();
    ws.frame({ type: 'error', id: ws.sent[0].id, code: 'SG_UNAUTHORIZED', message: 'invalid token' });
    expect(c.state).toBe(ConnectionState.Reconnecting);
    expect(c.stateReason).toBe('token rejected: SG_UNAUTHORIZED: invalid token');
    await clock.advance(100);
    expect(ScriptedSocket.all).toHaveLength(2);
    ScriptedSocket.last.open();
    await flush();
    expect(t.asked).toHaveLength(2);
  });
});

describe('teardown', () => {
  test('behaviour: unsubscribing while connecting sends nothing and leaves no timer', async () => {
    const c = client();
    const stop = c.subscribe('a/x', undefined, recorder().h);
    await clock.advance(1);
    stop();
    const ws = ScriptedSocket.last;
    ws.open();
    ws.welcome();
    expect(ws.sent).toEqual([]);
    await clock.advance(500);
    expect(ws.closedByClient?.code).toBe(1000);
    expect(c.state).toBe(ConnectionState.Idle);
    expect(clock.pending).toBe(0);
  });

  test('behaviour: unsubscribing while a replay runs stops delivery at once', async () => {
    const sg = new FakeCollector(clock, ['a/x']);
    sg.publish('a/x', 5);
    const c = client({ rest: sg.rest });
    const r = recorder();
    const stop = c.subscribe(
      'a/x',
      { epoch: sg.logs.get('a/x')!.epoch, offset: 0 },
      {
        ...r.h,
        onMessages: (items) => {
          r.got.push(...items);
          stop();
        },
      },
    );
    await clock.advance(5);
    sg.publish('a/x', 5);
    expect(r.offsets()).toEqual(range(1, 5));
    expect(ScriptedSocket.last.ops('unsubscribe').map((f) => f.channel)).toEqual(['a/x']);
  });

  test('behaviour: unsubscribing while a hole is filled discards the page that arrives after', async () => {
    const sg = new FakeCollector(clock, ['a/x']);
    const c = client({ rest: sg.rest });
    c.subscribe('a/x', undefined, recorder().h);
    await clock.advance(5);
    sg.publish('a/x', 10);
    sg.restDelay = () => 50;
    const r = recorder();
    const stop = c.subscribe('a/x', { epoch: sg.logs.get('a/x')!.epoch, offset: 2 }, r.h);
    await clock.advance(10);
    stop();
    await clock.advance(100);
    expect(sg.restCalls).toBe(1);
    expect(r.got).toEqual([]);
  });

  test('behaviour: close() while connecting cancels everything', async () => {
    const c = client();
    c.subscribe('a/x', undefined, recorder().h);
    c.close();
    expect(c.state).toBe(ConnectionState.Closed);
    expect(clock.pending).toBe(0);
    expect(() => c.subscribe('a/x', undefined, recorder().h)).toThrow('the client is closed');
  });
});

describe('resets', () => {
  test('behaviour: recovered:false goes to onReset; delivery continues after what it refilled', async () => {
    const c = client();
    const got: number[] = [];
    const resets: ResetInfo[] = [];
    c.subscribe(
      'a/x',
      { epoch: 'old', offset: 40 },
      {
        onMessages: (items) => got.push(...items.map((m) => m.offset)),
        onReset: async (info) => (resets.push(info), { epoch: info.epoch, offset: 7 }),
      },
    );
    await clock.advance(1);
    const ws = ScriptedSocket.last;
    ws.open();
    ws.welcome();
    expect(ws.ops('subscribe')[0].since).toEqual({ epoch: 'old', offset: 40 });
    ws.frame({
      type: 'subscribed',
      id: 1,
      channel: 'a/x',
      epoch: 'new',
      offset: 0,
      recovered: false,
      reason: 'epoch_changed',
      firstOffset: 1,
      lastOffset: 9,
      kind: 'stream',
      schema: { fields: [], declared: false },
    });
    ws.frame({ type: 'messages', channel: 'a/x', epoch: 'new', messages: range(1, 9).map((o) => msg(o)) });
    await flush();
    expect(resets).toEqual([{ channel: 'a/x', reason: 'epoch_changed', epoch: 'new', firstOffset: 1, lastOffset: 9 }]);
    expect(got).toEqual([8, 9]);
  });

  test('behaviour: a new epoch found while a hole is filled resets the listener, then the fill goes on in the new epoch', async () => {
    const sg = new FakeCollector(clock, ['a/x']);
    const c = client({ rest: sg.rest });
    c.subscribe('a/x', undefined, recorder().h);
    await clock.advance(5);
    sg.publish('a/x', 10);
    const oldEpoch = sg.logs.get('a/x')!.epoch;
    sg.restDelay = () => 50;
    const got: string[] = [];
    const resets: ResetInfo[] = [];
    c.subscribe(
      'a/x',
      { epoch: oldEpoch, offset: 2 },
      {
        onMessages: (items, epoch) => got.push(...items.map((m) => `${epoch}:${m.offset}`)),
        onReset: async (info) => (resets.push(info), { epoch: info.epoch, offset: 0 }),
      },
    );
    await clock.advance(10);
    // The store loses the channel while the page is on its way.
    sg.newEpoch('a/x');
    sg.publish('a/x', 3);
    const newEpoch = sg.logs.get('a/x')!.epoch;
    await clock.advance(2_000);
    expect(resets.map((r) => r.reason)).toEqual(['epoch_changed']);
    sg.publish('a/x', 1);
    expect(got).toEqual([1, 2, 3, 4].map((o) => `${newEpoch}:${o}`));
  });
});

describe('fallback to polling and return', () => {
  test('behaviour: upgrades refused while REST works -> polling delivers; WebSocket comes back and resumes without a gap', async () => {
    const sg = new FakeCollector(clock, ['a/x']);
    const c = client({ rest: sg.rest, fallbackAfterFailures: 2, pollIntervalMs: 200, wsRetryIntervalMs: 3_000 });
    const states: string[] = [];
    c.onState((s) => states.push(s.newState));
    // A proxy that refuses upgrades: every socket fails before opening.
    ScriptedSocket.onCreate = (s) => clock.setTimeout(() => s.serverClose(1006), 1);
    const r = recorder();
    c.subscribe('a/x', { epoch: sg.logs.get('a/x')!.epoch, offset: 0 }, r.h);
    await clock.advance(1_000);
    expect(c.state).toBe(ConnectionState.Polling);
    expect(c.stateReason).toBe('closed with 1006');
    sg.publish('a/x', 3);
    await clock.advance(200);
    expect(r.offsets()).toEqual([1, 2, 3]);
    // Upgrades work again: the next retry connects and resumes after offset 3.
    ScriptedSocket.onCreate = undefined;
    const sg2 = sg as FakeCollector & { accept?: unknown };
    ScriptedSocket.onCreate = (s) => (sg2 as unknown as { accept(s: ScriptedSocket): void }).accept(s);
    sg.publish('a/x', 2);
    await clock.advance(3_000);
    expect(c.state).toBe(ConnectionState.Connected);
    const sub = ScriptedSocket.last.ops('subscribe')[0];
    expect((sub.since as Position).offset).toBeGreaterThanOrEqual(3);
    sg.publish('a/x', 2);
    await clock.advance(500);
    expect(r.offsets()).toEqual(range(1, 7));
    expect(states).toEqual(['connecting', 'reconnecting', 'polling', 'connected']);
  });

  test('behaviour: when REST fails too (collector down) it keeps trying the socket with backoff instead of polling', async () => {
    const sg = new FakeCollector(clock, ['a/x']);
    sg.up = false;
    const c = client({ rest: sg.rest, fallbackAfterFailures: 2 });
    c.subscribe('a/x', undefined, recorder().h);
    await clock.advance(5_000);
    expect(c.state).toBe(ConnectionState.Reconnecting);
    sg.up = true;
    await clock.advance(2_000);
    expect(c.state).toBe(ConnectionState.Connected);
  });
});

describe('heartbeats', () => {
  test('behaviour: a silent connection is pinged, and dropped when no frame follows', async () => {
    const c = client({ heartbeatIntervalMs: 1_000, heartbeatTimeoutMs: 500 });
    c.subscribe('a/x', undefined, recorder().h);
    await clock.advance(1);
    const ws = ScriptedSocket.last;
    ws.open();
    ws.welcome();
    await clock.advance(1_000);
    expect(ws.ops('ping')).toHaveLength(1);
    ws.frame({ type: 'pong', id: 'hb', ts: 1 });
    await clock.advance(1_250);
    expect(ws.ops('ping')).toHaveLength(2);
    await clock.advance(500);
    expect(c.state).toBe(ConnectionState.Reconnecting);
    expect(c.stateReason).toBe('no pong within 500 ms');
  });
});

describe('close codes (docs/protocol.md)', () => {
  async function connected(o: Partial<ClientOptions> = {}) {
    const c = client(o);
    c.subscribe('a/x', { epoch: 'e', offset: 5 }, recorder().h);
    await clock.advance(1);
    const ws = ScriptedSocket.last;
    ws.open();
    await flush();
    if (o.getToken) {
      ws.frame({ type: 'auth_ok', id: ws.sent[0].id, expiresAt: 0 });
    }
    ws.welcome();
    ws.frame({
      type: 'subscribed',
      id: 1,
      channel: 'a/x',
      epoch: 'e',
      offset: 5,
      recovered: true,
      firstOffset: 1,
      lastOffset: 5,
      kind: 'stream',
      schema: { fields: [], declared: false },
    });
    return { c, ws };
  }

  // Resume codes: reconnect after the first backoff step (100 ms ceiling) and resume from offset 5.
  test.each([
    [1000, 'normal closure by the server side'],
    [1001, 'going away (restart)'],
    [4008, 'slow consumer'],
    [4009, 'heartbeat timeout'],
    [4504, 'store unavailable'],
  ])('behaviour: close %i (%s) reconnects at the first backoff step and resumes', async (code) => {
    const { c, ws } = await connected();
    ws.serverClose(code, 'x');
    expect(c.state).toBe(ConnectionState.Reconnecting);
    expect(c.stateReason).toBe(`closed with ${code} x`);
    await clock.advance(98);
    expect(ScriptedSocket.all).toHaveLength(1);
    await clock.advance(1);
    expect(ScriptedSocket.all).toHaveLength(2);
    const next = ScriptedSocket.last;
    next.open();
    next.welcome();
    expect(next.ops('subscribe')[0]).toMatchObject({ channel: 'a/x', since: { epoch: 'e', offset: 5 } });
  });

  // Refusals that would repeat at once: the backoff keeps growing (second step: 200 ms ceiling).
  test.each([
    [1009, 'frame too large'],
    [4429, 'frame flood'],
    [4503, 'too many connections'],
  ])('behaviour: close %i (%s) backs off further instead of starting over', async (code) => {
    const { c, ws } = await connected();
    ws.serverClose(code);
    expect(c.state).toBe(ConnectionState.Reconnecting);
    await clock.advance(198);
    expect(ScriptedSocket.all).toHaveLength(1);
    await clock.advance(1);
    expect(ScriptedSocket.all).toHaveLength(2);
  });

  test('behaviour: close 4401 with fixed credentials is final', async () => {
    const { c, ws } = await connected();
    ws.serverClose(4401, 'token expired');
    expect(c.state).toBe(ConnectionState.Closed);
    expect(c.stateReason).toBe('the collector rejected the credentials (closed with 4401 token expired)');
    await clock.advance(60_000);
    expect(ScriptedSocket.all).toHaveLength(1);
  });

  test('behaviour: close 4401 with a token source gets a new token and reconnects', async () => {
    let n = 0;
    const { c, ws } = await connected({ getToken: async () => ({ token: `t${++n}` }) });
    ws.serverClose(4401);
    expect(c.state).toBe(ConnectionState.Reconnecting);
    await clock.advance(200);
    const next = ScriptedSocket.last;
    expect(next).not.toBe(ws);
    next.open();
    await flush();
    expect(next.ops('auth')[0].token).toBe('t2');
  });
});
