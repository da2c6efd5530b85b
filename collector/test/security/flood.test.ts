/**
 * A bounded flood on loopback against a real collector process: hundreds of WebSocket
 * connections sending oversized, malformed, binary and too many frames, raw sockets sending
 * garbage, while one well-behaved client subscribes and a publisher publishes. The well-behaved
 * client must get every message (no gap, no duplicate), and once the flood is over the
 * collector's clients, queues and heap must be back near where they started.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { CloseCode } from '@streamgauge/protocol';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { AUTH_ENV, PUB_KEY, authConfig, bearer, getJson, sample } from './fixtures';

jest.setTimeout(180_000);

const FLOOD_CONNECTIONS = 300;
const RAW_SOCKETS = 100;
const MESSAGES = 2_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(sg: CollectorProcess): Promise<string> {
  return (await getJson(`${sg.url}/metrics`)).body as string;
}

/** One flooding connection: one behaviour each, chosen by index. Resolves when it is closed. */
function floodOne(url: string, i: number, closes: Map<number, number>): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: bearer(PUB_KEY) });
    const done = (code: number): void => {
      closes.set(code, (closes.get(code) ?? 0) + 1);
      resolve();
    };
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    ws.on('error', () => undefined);
    ws.on('close', (code) => done(code));
    ws.on('open', () => {
      switch (i % 5) {
        case 0: // oversized frame: 1009
          ws.send('x'.repeat(20_000));
          break;
        case 1: // malformed JSON, then too many frames: 4429
          for (let k = 0; k < 600; k++) {
            ws.send(k % 2 ? '{"op":' : '\u0000\uffff not json');
          }
          break;
        case 2: // binary garbage and unknown ops, then leave abruptly
          for (let k = 0; k < 50; k++) {
            ws.send(Buffer.alloc(512, k));
            ws.send(JSON.stringify({ op: 'subscribe', channel: `bad channel ${k}`, since: { epoch: 1, offset: -1 } }));
          }
          setTimeout(() => ws.terminate(), 200);
          break;
        case 3: // many subscriptions to the busy channel, then a slow death (terminate)
          for (let k = 0; k < 20; k++) {
            ws.send(JSON.stringify({ op: 'subscribe', id: k, channel: 'app/flood/busy', since: { last: 1000 } }));
          }
          setTimeout(() => ws.terminate(), 1_000);
          break;
        default: // idle, then closes normally
          setTimeout(() => ws.close(1000), 1_500);
      }
    });
  });
}

/** Raw TCP: half an upgrade request, or garbage bytes, then hang up. */
function rawGarbage(port: number, i: number): Promise<void> {
  return new Promise((resolve) => {
    const s: Socket = tcpConnect(port, '127.0.0.1');
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.on('connect', () => {
      if (i % 2) {
        s.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n');
      } else {
        s.write(Buffer.alloc(4096, 0xff));
      }
      setTimeout(() => s.destroy(), 300);
    });
  });
}

describe('flood on loopback (real collector)', () => {
  let sg: CollectorProcess;
  let good: WsTestClient;

  beforeAll(async () => {
    sg = await startCollector({
      config: {
        auth: authConfig({
          limits: {
            // Let most of the flood reach the sessions (one loopback address); the rest gets 429.
            connectionsPerIpPerSecond: 100,
            connectionsPerIpBurst: 250,
            wsMessagesPerSecond: 50,
            wsMessagesBurst: 100,
            wsMaxRefusedFrames: 100,
            publishRequestsPerSecond: 1_000,
            publishBurst: 1_000,
          },
        }),
        ws: { maxPayloadBytes: 16 * 1024, maxQueueBytes: 1024 * 1024 },
        retention: { maxMessages: 100_000 },
      },
      env: AUTH_ENV,
    });
  });

  afterAll(async () => {
    good?.close();
    await sg?.stop();
    sg?.cleanup();
  });

  test('behavior: a well-behaved client gets every message through the flood, and memory and clients come back', async () => {
    expect((await publish(sg.url, { channel: 'app/flood/good', data: { seq: 0 } }, bearer(PUB_KEY))).status).toBe(200);
    expect((await publish(sg.url, { channel: 'app/flood/busy', data: { seq: 0 } }, bearer(PUB_KEY))).status).toBe(200);
    good = await WsTestClient.connect(sg.wsUrl, { headers: bearer(PUB_KEY) });
    expect((await good.subscribe('app/flood/good', { last: 1 })).type).toBe('subscribed');
    await sleep(500);
    const before = await scrape(sg);
    const heapBefore = sample(before, 'nodejs_heap_used_bytes');

    const closes = new Map<number, number>();
    const flood: Promise<void>[] = [];
    for (let i = 0; i < FLOOD_CONNECTIONS; i++) {
      flood.push(floodOne(sg.wsUrl, i, closes));
    }
    for (let i = 0; i < RAW_SOCKETS; i++) {
      flood.push(rawGarbage(sg.port, i));
    }
    // Publish while the flood goes on: one channel for the good client, one the flooders read.
    for (let seq = 1; seq <= MESSAGES; seq += 20) {
      const messages = [];
      for (let k = seq; k < seq + 20; k++) {
        messages.push({ channel: 'app/flood/good', data: { seq: k } }, { channel: 'app/flood/busy', data: { seq: k } });
      }
      const r = await publish(sg.url, { messages }, bearer(PUB_KEY));
      expect(r.status).toBe(200);
    }
    await Promise.all(flood);

    await good.waitForOffset('app/flood/good', MESSAGES + 1, 60_000);
    expect(good.gapsAndDuplicates('app/flood/good', 1)).toEqual({ gaps: 0, duplicates: 0 });
    expect(good.messages.get('app/flood/good')!.map((m) => m.data.seq)).toEqual(Array.from({ length: MESSAGES + 1 }, (_, k) => k));
    expect(good.closeCode).toBeNull();

    // The flood met the documented refusals.
    expect(closes.get(CloseCode.MessageTooBig) ?? 0).toBeGreaterThan(0);
    expect(closes.get(CloseCode.RateLimited) ?? 0).toBeGreaterThan(0);
    const after = await scrape(sg);
    expect(sample(after, 'streamgauge_rate_limited_total{kind="ws_message"}')).toBeGreaterThan(0);

    // Back near where it started: one client, nothing queued, heap within 32 MiB of before.
    let heapAfter = Number.POSITIVE_INFINITY;
    let text = after;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      text = await scrape(sg);
      heapAfter = sample(text, 'nodejs_heap_used_bytes');
      if (sample(text, 'streamgauge_clients{transport="ws"}') === 1 && heapAfter < heapBefore + 32 * 1024 * 1024) {
        break;
      }
      // Small publishes give V8 allocation pressure to collect the flood's garbage.
      await publish(sg.url, { channel: 'app/flood/busy', data: { seq: -1 } }, bearer(PUB_KEY));
      await sleep(250);
    }
    process.stdout.write(
      `flood: closes ${JSON.stringify(Object.fromEntries(closes))}, heap ${(heapBefore / 2 ** 20).toFixed(1)} -> ${(heapAfter / 2 ** 20).toFixed(1)} MiB\n`,
    );
    expect(sample(text, 'streamgauge_clients{transport="ws"}')).toBe(1);
    expect(sample(text, 'streamgauge_send_queue_bytes')).toBeLessThan(64 * 1024);
    expect(heapAfter).toBeLessThan(heapBefore + 32 * 1024 * 1024);

    // Still serving: a new client and a publish work.
    const late = await WsTestClient.connect(sg.wsUrl, { headers: bearer(PUB_KEY) });
    try {
      expect((await late.subscribe('app/flood/good', { last: 1 })).type).toBe('subscribed');
      await late.waitForOffset('app/flood/good', MESSAGES + 1);
    } finally {
      late.close();
    }
    expect(sg.proc.exitCode).toBeNull();
  });
});
