/**
 * The streaming contract against a real collector process and real WebSocket clients:
 * replay then live with no gap or duplicate, resume, recovered:false, slow consumers, bad input.
 */
import WebSocket from 'ws';
import { CloseCode, ErrorCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { waitUntil } from '../helpers/deadlines';

const clients: WsTestClient[] = [];
async function connect(url: string, options?: WebSocket.ClientOptions): Promise<WsTestClient> {
  const c = await WsTestClient.connect(url, options);
  clients.push(c);
  return c;
}

async function publishN(url: string, channel: string, n: number, start = 0, batch = 50): Promise<void> {
  for (let i = 0; i < n; i += batch) {
    const messages = [];
    for (let j = i; j < Math.min(n, i + batch); j++) {
      messages.push({ channel, data: { seq: start + j } });
    }
    const r = await publish(url, { messages });
    expect(r.status).toBe(200);
  }
}

describe('WebSocket streaming (real collector)', () => {
  let sg: CollectorProcess;

  beforeAll(async () => {
    sg = await startCollector({
      config: {
        ws: { maxQueueBytes: 256 * 1024, maxConnections: 20, replayPageSize: 100 },
        channels: { definitions: [{ name: 'short/lived', retention: { maxMessages: 5 } }] },
        retention: { checkIntervalMs: 100 },
      },
    });
  });

  afterEach(() => {
    for (const c of clients.splice(0)) {
      c.close();
    }
  });

  afterAll(async () => {
    await sg.stop();
    sg.cleanup();
  });

  test('behavior: a new client gets a welcome frame with the heartbeat and payload limits', async () => {
    const c = await connect(sg.wsUrl);
    const w = await c.waitFor((f) => f.type === 'welcome');
    expect(w).toMatchObject({ type: 'welcome', protocol: 1, heartbeatMs: 25_000, maxPayloadBytes: 65_536 });
  });

  test('behavior: replay then live has no gap and no duplicate while publishing goes on', async () => {
    await publishN(sg.url, 'seam/a', 500);
    const c = await connect(sg.wsUrl);
    // Publish concurrently with the subscription's replay.
    const concurrent = publishN(sg.url, 'seam/a', 500, 500, 10);
    const sub = await c.subscribe('seam/a', { last: 1_000_000 });
    expect(sub).toMatchObject({ type: 'subscribed', channel: 'seam/a', offset: 0, recovered: true });
    await concurrent;
    await c.waitForOffset('seam/a', 1000);
    const got = c.messages.get('seam/a')!;
    expect(got.map((m) => m.offset)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(got.map((m) => m.data.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(c.gapsAndDuplicates('seam/a')).toEqual({ gaps: 0, duplicates: 0 });
  });

  test('behavior: a client that reconnects with {epoch, offset} gets exactly what it missed', async () => {
    await publishN(sg.url, 'resume/a', 10);
    const a = await connect(sg.wsUrl);
    const sub = await a.subscribe('resume/a', { last: 10 });
    await a.waitForOffset('resume/a', 10);
    a.close();
    await publishN(sg.url, 'resume/a', 7, 10);
    const b = await connect(sg.wsUrl);
    const again = await b.subscribe('resume/a', { epoch: sub.epoch, offset: 10 });
    expect(again).toMatchObject({ recovered: true, offset: 10, lastOffset: 17 });
    await b.waitForOffset('resume/a', 17);
    expect(b.messages.get('resume/a')!.map((m) => m.offset)).toEqual([11, 12, 13, 14, 15, 16, 17]);
  });

  test('behavior: since {time} starts at the first message at or after that time', async () => {
    await publishN(sg.url, 'bytime/a', 3);
    await new Promise((r) => setTimeout(r, 20));
    const t = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    await publishN(sg.url, 'bytime/a', 2, 3);
    const c = await connect(sg.wsUrl);
    const sub = await c.subscribe('bytime/a', { time: t });
    expect(sub).toMatchObject({ recovered: true, offset: 3 });
    await c.waitForOffset('bytime/a', 5);
    expect(c.messages.get('bytime/a')!.map((m) => m.data.seq)).toEqual([3, 4]);
  });

  test('behavior: an expired position answers recovered:false (expired) and delivers from the oldest kept', async () => {
    await publishN(sg.url, 'short/lived', 20);
    // Retention (maxMessages 5) runs every 100 ms.
    const deadline = Date.now() + 5000;
    let first = 1;
    while (Date.now() < deadline && first === 1) {
      const info = await (await fetch(`${sg.url}/api/v1/channels/short/lived`)).json();
      first = info.firstOffset;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(first).toBe(16);
    const c = await connect(sg.wsUrl);
    const info = await (await fetch(`${sg.url}/api/v1/channels/short/lived`)).json();
    const sub = await c.subscribe('short/lived', { epoch: info.epoch, offset: 3 });
    expect(sub).toMatchObject({ recovered: false, reason: 'expired', offset: 15, firstOffset: 16, lastOffset: 20 });
    await c.waitForOffset('short/lived', 20);
    expect(c.messages.get('short/lived')!.map((m) => m.offset)).toEqual([16, 17, 18, 19, 20]);
  });

  test('behavior: a different epoch answers recovered:false (epoch_changed)', async () => {
    await publishN(sg.url, 'epoch/a', 3);
    const c = await connect(sg.wsUrl);
    const sub = await c.subscribe('epoch/a', { epoch: 'not-the-epoch', offset: 2 });
    expect(sub).toMatchObject({ recovered: false, reason: 'epoch_changed', offset: 0 });
    await c.waitForOffset('epoch/a', 3);
    expect(c.messages.get('epoch/a')!.map((m) => m.offset)).toEqual([1, 2, 3]);
  });

  test('behavior: a pattern subscription picks up channels created later', async () => {
    await publishN(sg.url, 'pat/one', 1);
    const c = await connect(sg.wsUrl);
    const sub = await c.subscribe('pat/*');
    expect(sub).toMatchObject({ type: 'subscribed', channel: 'pat/one', pattern: 'pat/*' });
    await publishN(sg.url, 'pat/two', 2);
    await publishN(sg.url, 'pat/one', 1, 1);
    await c.waitForOffset('pat/two', 2);
    await c.waitForOffset('pat/one', 2);
    expect(c.messages.get('pat/two')!.map((m) => m.data.seq)).toEqual([0, 1]);
    expect(c.messages.get('pat/one')!.map((m) => m.data.seq)).toEqual([1]);
  });

  test('behavior: a slow client is closed with 4008 while a fast client on the same channel receives everything', async () => {
    const fast = await connect(sg.wsUrl);
    const slow = await connect(sg.wsUrl);
    await publishN(sg.url, 'slow/a', 1, -1); // creates the channel (offset 1)
    expect(await fast.subscribe('slow/a')).toMatchObject({ type: 'subscribed' });
    expect(await slow.subscribe('slow/a')).toMatchObject({ type: 'subscribed' });
    // Stop reading: the kernel buffers fill, then the collector's queue passes ws.maxQueueBytes (256 KiB).
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const big = 'x'.repeat(30_000);
    for (let i = 0; i < 400; i += 20) {
      const messages = Array.from({ length: 20 }, (_, j) => ({ channel: 'slow/a', data: { seq: i + j, pad: big } }));
      expect((await publish(sg.url, { messages })).status).toBe(200);
    }
    await fast.waitForOffset('slow/a', 401, 20_000);
    expect(fast.messages.get('slow/a')!.length).toBe(400);
    expect(fast.gapsAndDuplicates('slow/a', 2)).toEqual({ gaps: 0, duplicates: 0 });
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.waitForClose(15_000)).toBe(CloseCode.SlowConsumer);
    const metrics = await (await fetch(`${sg.url}/metrics`)).text();
    expect(metrics).toMatch(/streamgauge_slow_client_disconnects_total\{transport="ws"\} [1-9]/);
    // The slow client reconnects and recovers from its last offset.
    const received = slow.messages.get('slow/a') ?? [];
    const last = received.length ? received[received.length - 1].offset : 0;
    const back = await connect(sg.wsUrl);
    const info = await (await fetch(`${sg.url}/api/v1/channels/slow/a`)).json();
    const sub = await back.subscribe('slow/a', { epoch: info.epoch, offset: last });
    expect(sub.recovered).toBe(true);
    await back.waitForOffset('slow/a', 401, 20_000);
    expect(back.messages.get('slow/a')![0].offset).toBe(last + 1);
    expect(back.gapsAndDuplicates('slow/a', last + 1)).toEqual({ gaps: 0, duplicates: 0 });
  });

  test('behavior: replay of a large history to a client that reads slowly waits for it instead of closing it', async () => {
    // 200 messages of 30 KB: a page of ws.replayPageSize (100) is 3 MB, twelve times ws.maxQueueBytes.
    const big = 'y'.repeat(30_000);
    for (let i = 0; i < 200; i += 20) {
      const messages = Array.from({ length: 20 }, (_, j) => ({ channel: 'history/big', data: { seq: i + j, pad: big } }));
      expect((await publish(sg.url, { messages })).status).toBe(200);
    }
    const info = await (await fetch(`${sg.url}/api/v1/channels/history/big`)).json();
    const slowClosed = async (): Promise<number> => {
      const text = await (await fetch(`${sg.url}/metrics`)).text();
      return Number(/streamgauge_slow_client_disconnects_total\{transport="ws"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const slowBefore = await slowClosed();
    const c = await connect(sg.wsUrl);
    const socket = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    // Not reading while the replay starts: the collector's queue for this client is the one thing that grows.
    socket.pause();
    c.send({ op: 'subscribe', id: 1, channel: 'history/big', since: { epoch: info.epoch, offset: 0 } });
    await waitUntil('the first replay frame written, or the client closed as slow', async () => {
      const text = await (await fetch(`${sg.url}/metrics`)).text();
      return (
        /streamgauge_messages_delivered_total\{namespace="history",transport="ws"\} [1-9]/.test(text) || (await slowClosed()) > slowBefore
      );
    });
    socket.resume();
    await c.waitForOffset('history/big', 200);
    expect(c.closeCode).toBeNull();
    expect(c.gapsAndDuplicates('history/big', 1)).toEqual({ gaps: 0, duplicates: 0 });
  });

  test('behavior: bad frames get their documented error codes and the connection keeps serving', async () => {
    await publishN(sg.url, 'bad/a', 1);
    const c = await connect(sg.wsUrl);
    c.send('{not json');
    expect(await c.waitFor((f) => f.type === 'error')).toMatchObject({ code: ErrorCode.BadJson });
    c.send({ op: 'dance', id: 7 });
    expect(await c.waitFor((f) => f.type === 'error' && f.id === 7)).toMatchObject({ code: ErrorCode.UnknownOp });
    expect(await c.subscribe('no/such/channel')).toMatchObject({ type: 'error', code: ErrorCode.UnknownChannel });
    expect(await c.subscribe('Bad Name')).toMatchObject({ type: 'error', code: ErrorCode.BadChannelName });
    expect(await c.subscribe('bad/a', { offset: 'x' })).toMatchObject({ type: 'error', code: ErrorCode.BadRequest });
    expect(await c.subscribe('bad/a')).toMatchObject({ type: 'subscribed' });
    expect(await c.subscribe('bad/a')).toMatchObject({ type: 'error', code: ErrorCode.AlreadySubscribed });
    await publishN(sg.url, 'bad/a', 1, 1);
    await c.waitForOffset('bad/a', 2);
    c.send({ op: 'unsubscribe', id: 9, channel: 'bad/a' });
    expect(await c.waitFor((f) => f.id === 9)).toMatchObject({ type: 'unsubscribed', channel: 'bad/a' });
  });

  test('behavior: a frame over 64 KiB closes that connection with 1009 and others keep going', async () => {
    const other = await connect(sg.wsUrl);
    await publishN(sg.url, 'big/a', 1);
    await other.subscribe('big/a');
    const c = await connect(sg.wsUrl);
    c.send(JSON.stringify({ op: 'ping', pad: 'x'.repeat(70_000) }));
    expect(await c.waitForClose()).toBe(CloseCode.MessageTooBig);
    await publishN(sg.url, 'big/a', 1, 1);
    await other.waitForOffset('big/a', 2);
  });

  test('behavior: a foreign Origin is refused at the upgrade with 403', async () => {
    await expect(WsTestClient.connect(sg.wsUrl, { origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    const same = await connect(sg.wsUrl, { origin: `http://127.0.0.1:${sg.port}` });
    expect(await same.waitFor((f) => f.type === 'welcome')).toBeTruthy();
  });

  test('behavior: over the connection limit a client is closed with 4503 and the others keep serving', async () => {
    const held: WsTestClient[] = [];
    for (let i = 0; i < 20; i++) {
      held.push(await connect(sg.wsUrl));
    }
    const extra = await connect(sg.wsUrl);
    expect(await extra.waitForClose()).toBe(CloseCode.TooManyConnections);
    expect(extra.closeReason).toBe(ErrorCode.TooManyConnections);
    await publishN(sg.url, 'limit/a', 1);
    expect(await held[0].subscribe('limit/a', { last: 1 })).toMatchObject({ type: 'subscribed' });
    await held[0].waitForOffset('limit/a', 1);
  });

  test('behavior: ping gets a pong with the server time', async () => {
    const c = await connect(sg.wsUrl);
    c.send({ op: 'ping', id: 'p1' });
    const pong = await c.waitFor((f) => f.type === 'pong');
    expect(pong.id).toBe('p1');
    expect(Math.abs(pong.ts - Date.now())).toBeLessThan(60_000);
  });
});

describe('restart and shutdown (real collector)', () => {
  test('behavior: after a collector restart clients resume with no gap; offsets and epochs continue', async () => {
    let sg = await startCollector();
    try {
      await publishN(sg.url, 'restart/a', 25);
      const a = await connect(sg.wsUrl);
      const sub = await a.subscribe('restart/a', { last: 100 });
      await a.waitForOffset('restart/a', 25);
      const closed = a.waitForClose();
      sg = await sg.restart();
      // Shutdown closes clients with 1001 (going away) so that they reconnect.
      expect(await closed).toBe(CloseCode.GoingAway);
      await publishN(sg.url, 'restart/a', 5, 25);
      const b = await connect(sg.wsUrl);
      const again = await b.subscribe('restart/a', { epoch: sub.epoch, offset: 25 });
      expect(again).toMatchObject({ recovered: true, epoch: sub.epoch, lastOffset: 30 });
      await b.waitForOffset('restart/a', 30);
      expect(b.messages.get('restart/a')!.map((m) => m.data.seq)).toEqual([25, 26, 27, 28, 29]);
    } finally {
      await sg.stop();
      sg.cleanup();
      for (const c of clients.splice(0)) {
        c.close();
      }
    }
  });
});
