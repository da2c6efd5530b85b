/**
 * The session layer against a real collector process (issue 13, items 1 to 7, and the session items
 * of issue 12): SSE slow consumers, SSE resume under patterns, no subscription left behind a gone
 * client, patterns and names together, the subscription limit counting pattern matches, whole-batch
 * validation, token expiry and refresh, and the smaller promises of docs/protocol.md.
 */
import http from 'node:http';
import { CloseCode, ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { type SseEvent, sseParser } from '../helpers/sse-parser';
import { WsTestClient } from '../helpers/ws-test-client';
import { AUTH_ENV, PUB_KEY, authConfig, bearer, mintToken } from '../security/fixtures';

/** An SSE stream read event by event; `pause()` stops reading (the collector's queue grows). */
function openSse(url: string, headers: Record<string, string> = {}) {
  const events: SseEvent[] = [];
  let waiters: { pred: (e: SseEvent[]) => boolean; resolve: () => void }[] = [];
  let ended = false;
  let res: http.IncomingMessage | undefined;
  const check = (): void => {
    waiters = waiters.filter((w) => {
      if (w.pred(events) || ended) {
        w.resolve();
        return false;
      }
      return true;
    });
  };
  const req = http.get(url, { headers }, (r) => {
    res = r;
    const feed = sseParser((ev) => events.push(ev));
    r.on('data', (d: Buffer) => {
      feed(d);
      check();
    });
    r.on('end', () => {
      ended = true;
      check();
    });
    r.on('error', () => undefined);
  });
  req.on('error', () => undefined);
  return {
    events,
    get ended() {
      return ended;
    },
    until(pred: (e: SseEvent[]) => boolean, timeoutMs = 20_000): Promise<void> {
      if (pred(events) || ended) {
        return Promise.resolve();
      }
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`SSE: no matching events; last ${JSON.stringify(events.slice(-2)).slice(0, 400)}`)),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
      });
    },
    pause: () => req.socket?.pause(),
    resume: () => req.socket?.resume(),
    close: () => req.destroy(),
    offsets: (channel: string) =>
      events.filter((e) => e.event === 'messages' && e.data.channel === channel).flatMap((e) => e.data.messages.map((m: any) => m.offset)),
    get response() {
      return res;
    },
  };
}

async function publishSeq(url: string, channel: string, from: number, n: number): Promise<void> {
  const messages = Array.from({ length: n }, (_, i) => ({ channel, data: { seq: from + i } }));
  const r = await publish(url, { messages });
  expect(r.status).toBe(200);
}

async function status(url: string): Promise<any> {
  return (await fetch(`${url}/api/v1/status`)).json();
}

/** Polls a condition on the collector (bounded by a generous deadline, never asserting time). */
async function eventually(f: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline) {
      throw new Error('condition not met before the deadline');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('sessions (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({
      config: {
        sse: { maxQueueBytes: 256 * 1024 },
        ws: { maxSubscriptionsPerConnection: 5, replayPageSize: 10 },
        auth: { limits: { connectionsPerIpPerSecond: 0, publishRequestsPerSecond: 0 } },
      },
    });
  }, 30_000);
  afterAll(async () => {
    await sg.stop();
    sg.cleanup();
  });

  test('behavior: a slow SSE reader gets an error event and only its stream ends; the process and other clients carry on', async () => {
    await publishSeq(sg.url, 'load/x', 0, 1);
    await publishSeq(sg.url, 'load/y', 0, 1);
    const slow = openSse(`${sg.url}/api/v1/stream?channels=load/x`);
    // Another SSE stream, on a quiet channel (sse.maxQueueBytes is small here: a burst would pass it).
    const other = openSse(`${sg.url}/api/v1/stream?channels=load/y`);
    const ws = await WsTestClient.connect(sg.wsUrl);
    await slow.until((e) => e.some((x) => x.event === 'subscribed'));
    await other.until((e) => e.some((x) => x.event === 'subscribed'));
    expect(await ws.subscribe('load/x')).toMatchObject({ type: 'subscribed' });
    slow.pause();
    const pad = 'x'.repeat(2_000);
    for (let b = 0; b < 40; b++) {
      const messages = Array.from({ length: 200 }, (_, i) => ({ channel: 'load/x', data: { seq: b * 200 + i, pad } }));
      expect((await publish(sg.url, { messages })).status).toBe(200);
    }
    await ws.waitForOffset('load/x', 8001, 60_000);
    slow.resume();
    await slow.until(() => slow.ended, 60_000);
    const last = slow.events[slow.events.length - 1];
    expect(last).toMatchObject({ event: 'error', data: { code: ErrorCode.RateLimited } });
    expect(last.data.message).toMatch(/slow consumer: send queue over sse.maxQueueBytes/);
    expect(ws.closeCode).toBeNull();
    expect((await fetch(`${sg.url}/healthz`)).status).toBe(200);
    await publishSeq(sg.url, 'load/y', 1, 1);
    await other.until(() => other.offsets('load/y').includes(2));
    expect(other.ended).toBe(false);
    other.close();
    ws.close();
  }, 120_000);

  test('behavior: an SSE pattern stream resumes each channel by its concrete name with Last-Event-ID', async () => {
    await publishSeq(sg.url, 'ssp/a', 1, 4);
    const first = openSse(`${sg.url}/api/v1/stream?channels=ssp/*&last=10`);
    await first.until(() => first.offsets('ssp/a').includes(4));
    const id = first.events.filter((e) => e.event === 'messages').pop()!.id!;
    expect(id).toMatch(/ssp\/a:[^:]+:4/);
    first.close();
    await publishSeq(sg.url, 'ssp/a', 5, 2);
    const again = openSse(`${sg.url}/api/v1/stream?channels=ssp/*&last=10`, { 'last-event-id': id });
    await again.until(() => again.offsets('ssp/a').includes(6));
    const sub = again.events.find((e) => e.event === 'subscribed' && e.data.channel === 'ssp/a')!;
    expect(sub.data).toMatchObject({ offset: 4, recovered: true });
    // Neither the old messages of last=10 again, nor a gap.
    expect(again.offsets('ssp/a')).toEqual([5, 6]);
    again.close();
  });

  test('behavior: a client gone during replay leaves no subscription behind', async () => {
    for (let i = 0; i < 9; i++) {
      await publishSeq(sg.url, `leak/c${i}`, 0, 300);
    }
    const before = (await status(sg.url)).subscriptions;
    // Five channels at most per connection: the pattern would pass it, so name five of them.
    const s = openSse(`${sg.url}/api/v1/stream?channels=leak/c0,leak/c1,leak/c2,leak/c3,leak/c4&last=300`);
    await s.until((e) => e.some((x) => x.event === 'messages'));
    s.close();
    await eventually(async () => {
      const st = await status(sg.url);
      return st.clients.sse === 0 && st.subscriptions === before;
    });
  });

  test('behavior: a name under a subscribed pattern resumes that channel, and a pattern answers even when it matches nothing', async () => {
    await publishSeq(sg.url, 'prn/a', 1, 3);
    const c = await WsTestClient.connect(sg.wsUrl);
    c.send({ op: 'subscribe', id: 1, channel: 'prn/*' });
    expect(await c.waitFor((f) => f.type === 'pattern' && f.id === 1)).toMatchObject({ pattern: 'prn/*', channels: ['prn/a'] });
    const info = await (await fetch(`${sg.url}/api/v1/channels/prn/a`)).json();
    c.send({ op: 'subscribe', id: 2, channel: 'prn/a', since: { epoch: info.epoch, offset: 1 } });
    expect(await c.waitFor((f) => f.id === 2)).toMatchObject({ type: 'subscribed', channel: 'prn/a', offset: 1, recovered: true });
    await c.waitForOffset('prn/a', 3);
    expect(c.messages.get('prn/a')!.map((m) => m.offset)).toEqual([2, 3]);

    c.send({ op: 'subscribe', id: 3, channel: 'nothing/here/*' });
    expect(await c.waitFor((f) => f.id === 3)).toMatchObject({ type: 'pattern', pattern: 'nothing/here/*', channels: [] });
    c.close();
  });

  test('behavior: unsubscribing a name keeps the delivery of a pattern that matches it, once per message', async () => {
    await publishSeq(sg.url, 'pov/a', 1, 1);
    const c = await WsTestClient.connect(sg.wsUrl);
    expect(await c.subscribe('pov/a')).toMatchObject({ type: 'subscribed' });
    c.send({ op: 'subscribe', id: 'p', channel: 'pov/*' });
    await c.waitFor((f) => f.type === 'pattern' && f.id === 'p');
    c.send({ op: 'unsubscribe', id: 'u', channel: 'pov/a' });
    expect(await c.waitFor((f) => f.id === 'u')).toMatchObject({ type: 'unsubscribed', channel: 'pov/a' });
    await publishSeq(sg.url, 'pov/a', 2, 2);
    await c.waitForOffset('pov/a', 3);
    expect(c.gapsAndDuplicates('pov/a', 2)).toEqual({ gaps: 0, duplicates: 0 });
    c.close();
  });

  test('behavior: ws.maxSubscriptionsPerConnection counts each channel a pattern matches, channels created later included', async () => {
    for (let i = 0; i < 6; i++) {
      await publishSeq(sg.url, `mpat/c${i}`, 0, 1);
    }
    for (let i = 0; i < 3; i++) {
      await publishSeq(sg.url, `mp2/c${i}`, 0, 1);
    }
    const c = await WsTestClient.connect(sg.wsUrl);
    c.send({ op: 'subscribe', id: 1, channel: 'mpat/*' });
    expect(await c.waitFor((f) => f.id === 1)).toMatchObject({ type: 'error', code: ErrorCode.SubscriptionLimit });
    c.send({ op: 'subscribe', id: 2, channel: 'mp2/*' });
    expect(await c.waitFor((f) => f.id === 2 && f.type === 'pattern')).toMatchObject({ channels: ['mp2/c0', 'mp2/c1', 'mp2/c2'] });
    expect(await c.subscribe('mpat/c0')).toMatchObject({ type: 'subscribed' });
    // Fifth channel: a new one under the pattern is still delivered; the sixth is refused by name.
    await publishSeq(sg.url, 'mp2/c3', 0, 1);
    expect(await c.waitFor((f) => f.type === 'subscribed' && f.channel === 'mp2/c3')).toMatchObject({ pattern: 'mp2/*' });
    await publishSeq(sg.url, 'mp2/c4', 0, 1);
    expect(await c.waitFor((f) => f.type === 'error' && f.channel === 'mp2/c4')).toMatchObject({ code: ErrorCode.SubscriptionLimit });
    expect(await c.subscribe('mpat/c1')).toMatchObject({ type: 'error', code: ErrorCode.SubscriptionLimit });
    c.close();
  });

  test('behavior: a refused batch leaves the channel schema unchanged', async () => {
    const bad = await publish(sg.url, {
      messages: [
        { channel: 'bad/leak', data: { n: 1 } },
        { channel: 'bad/leak', data: { extra: 'text' } },
        { channel: 'bad/leak', data: { n: 'wrong' } },
      ],
    });
    expect(bad.status).toBe(422);
    expect((await fetch(`${sg.url}/api/v1/channels/bad/leak`)).status).toBe(404);
    expect((await publish(sg.url, { channel: 'bad/leak', data: { n: 2 } })).status).toBe(200);
    const refused = await publish(sg.url, {
      messages: [
        { channel: 'bad/leak', data: { extra: 'text' } },
        { channel: 'bad/leak', data: { n: 'wrong' } },
      ],
    });
    expect(refused.body.error.code).toBe(ErrorCode.SchemaMismatch);
    const info = await (await fetch(`${sg.url}/api/v1/channels/bad/leak`)).json();
    expect(info.schema.fields.map((f: any) => f.name)).toEqual(['n']);
    expect((await publish(sg.url, { channel: 'bad/leak', data: { extra: 5 } })).status).toBe(200);
  });

  test('behavior: names, media types and batch items get their documented codes', async () => {
    for (const name of ['app/..', 'app/.hidden', 'app/-x', 'app/x/..']) {
      const r = await publish(sg.url, { channel: name, data: { a: 1 } });
      expect([name, r.body.error.code]).toEqual([name, ErrorCode.BadChannelName]);
    }
    const hist = await fetch(`${sg.url}/api/v1/messages?channel=${encodeURIComponent('app/.hidden')}`);
    expect(hist.status).toBe(400);
    expect((await hist.json()).error.code).toBe(ErrorCode.BadChannelName);
    const text = await fetch(`${sg.url}/api/v1/publish`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(text.status).toBe(415);
    expect((await text.json()).error.code).toBe(ErrorCode.UnsupportedMediaType);
    for (const item of [{ data: { a: 1 } }, { channel: 5, data: { a: 1 } }]) {
      const r = await publish(sg.url, { messages: [item] });
      expect(r.body.error.code).toBe(ErrorCode.BadRequest);
    }
  });

  test('behavior: a WebSocket reader that drains after a pause longer than 2 s still reads 4008', async () => {
    await publishSeq(sg.url, 'slowws/a', 0, 1);
    const c = await WsTestClient.connect(sg.wsUrl);
    expect(await c.subscribe('slowws/a')).toMatchObject({ type: 'subscribed' });
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const before = await slowDisconnects(sg.url);
    const pad = 'x'.repeat(30_000);
    while ((await slowDisconnects(sg.url)) === before) {
      const messages = Array.from({ length: 20 }, (_, i) => ({ channel: 'slowws/a', data: { seq: i, pad } }));
      expect((await publish(sg.url, { messages })).status).toBe(200);
    }
    // Longer than the former fixed 2 s grace, after which the socket was cut (1006).
    await new Promise((r) => setTimeout(r, 3_000));
    (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await c.waitForClose(30_000)).toBe(CloseCode.SlowConsumer);
  }, 60_000);
});

async function slowDisconnects(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('streamgauge_slow_client_disconnects_total{transport="ws"}'));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('sessions with tokens (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({
      config: { auth: authConfig({ limits: { connectionsPerIpPerSecond: 0, publishRequestsPerSecond: 0 } }) },
      env: { ...AUTH_ENV, SG_LOG_LEVEL: 'info' },
    });
  }, 30_000);
  afterAll(async () => {
    await sg.stop();
    sg.cleanup();
  });

  test('behavior: a session ends at its token expiry, and nothing published after expiry reaches it', async () => {
    await publish(sg.url, { channel: 'app/exp', data: { seq: 0 } }, bearer(PUB_KEY));
    const t = await mintToken(sg.url, PUB_KEY, { scopes: { subscribe: ['app/**'] }, ttlSeconds: 2 });
    expect(t.status).toBe(200);
    const c = await WsTestClient.connect(sg.wsUrl);
    c.send({ op: 'auth', id: 'a', token: t.body.token });
    const ok = await c.waitFor((f) => f.id === 'a');
    expect(ok.type).toBe('auth_ok');
    expect(await c.subscribe('app/exp')).toMatchObject({ type: 'subscribed' });
    let seq = 1;
    while (c.closeCode === null) {
      await publish(sg.url, { channel: 'app/exp', data: { seq: seq++ } }, bearer(PUB_KEY));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(c.closeCode).toBe(CloseCode.Unauthorized);
    const late = (c.messages.get('app/exp') ?? []).filter((m) => m.ts > ok.expiresAt);
    expect(late).toEqual([]);
  }, 30_000);

  test('behavior: a refresh with a narrower token ends the subscriptions it no longer allows', async () => {
    await publish(sg.url, { channel: 'app/wide/a', data: { seq: 0 } }, bearer(PUB_KEY));
    await publish(sg.url, { channel: 'app/narrow/a', data: { seq: 0 } }, bearer(PUB_KEY));
    const wide = await mintToken(sg.url, PUB_KEY, { scopes: { subscribe: ['app/**'] }, ttlSeconds: 60 });
    const narrow = await mintToken(sg.url, PUB_KEY, { scopes: { subscribe: ['app/narrow/*'] }, ttlSeconds: 60 });
    const c = await WsTestClient.connect(sg.wsUrl);
    c.send({ op: 'auth', id: 'a', token: wide.body.token });
    await c.waitFor((f) => f.id === 'a' && f.type === 'auth_ok');
    expect(await c.subscribe('app/wide/a')).toMatchObject({ type: 'subscribed' });
    expect(await c.subscribe('app/narrow/a')).toMatchObject({ type: 'subscribed' });
    c.send({ op: 'auth', id: 'b', token: narrow.body.token });
    await c.waitFor((f) => f.id === 'b' && f.type === 'auth_ok');
    expect(await c.waitFor((f) => f.type === 'error' && f.channel === 'app/wide/a')).toMatchObject({ code: ErrorCode.Forbidden });
    await publish(sg.url, { channel: 'app/wide/a', data: { seq: 1 } }, bearer(PUB_KEY));
    await publish(sg.url, { channel: 'app/narrow/a', data: { seq: 1 } }, bearer(PUB_KEY));
    await c.waitForOffset('app/narrow/a', 2);
    expect(c.messages.get('app/wide/a') ?? []).toEqual([]);
    c.close();
  });

  test('behavior: the audit line of a refused auth frame names the remote address', async () => {
    const c = await WsTestClient.connect(sg.wsUrl);
    c.send({ op: 'auth', id: 'x', token: 'not-a-token' });
    await c.waitFor((f) => f.id === 'x' && f.type === 'error');
    await eventually(async () =>
      /"auth_refused"[^\n]*"transport":"ws"[^\n]*"remote":"[^"]+"|"remote":"[^"]+"[^\n]*"auth_refused"[^\n]*"transport":"ws"/.test(
        sg.output(),
      ),
    );
    c.close();
  });
});

describe('configuration problems (real process)', () => {
  test('behavior: an unknown option and a cross-field error are reported together, exit 78', async () => {
    await expect(
      startCollector({ config: { ws: { bogusOption: 1, heartbeatTimeoutMs: 60_000, heartbeatIntervalMs: 1_000 } } }),
    ).rejects.toThrow(/exited with 78[\s\S]*unknown option "bogusOption"[\s\S]*heartbeatTimeoutMs/);
  });

  test('behavior: an EVM chain defined twice exits 78 before the collector serves', async () => {
    const chain = { name: 'dup', chainId: 31337, rpcUrls: ['http://127.0.0.1:1'] };
    await expect(startCollector({ config: { evm: { chains: [chain, chain] } } })).rejects.toThrow(/exited with 78[\s\S]*defined twice/);
  });
});
