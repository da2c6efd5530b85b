/**
 * Shared pieces of the scale-out tests: N collector processes on one Redis, clients that resume
 * across connections, and gap/duplicate counting over everything a logical client received.
 */
import http from 'node:http';
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { type SseEvent, sseParser } from '../helpers/sse-parser';

export function redisEnv(url: string): Record<string, string> {
  return { SG_STORE: 'redis', SG_REDIS_URLS: url };
}

/**
 * Every test client and publisher comes from 127.0.0.1, so the per-IP connection and publish
 * limits (auth.limits) would turn a reconnect storm into 429s: they are off here.
 */
export const NO_IP_LIMITS = { auth: { limits: { connectionsPerIpPerSecond: 0, publishRequestsPerSecond: 0 } } };

export function startInstance(redisUrl: string, config: Record<string, unknown> = {}): Promise<CollectorProcess> {
  return startCollector({ env: redisEnv(redisUrl), config: { ...NO_IP_LIMITS, ...config } });
}

/** Starts n instances into `into` one by one, so that afterAll stops those started even if a later one fails. */
export async function startInstances(
  n: number,
  redisUrl: string,
  config: Record<string, unknown> = {},
  into: CollectorProcess[] = [],
): Promise<CollectorProcess[]> {
  for (let i = 0; i < n; i++) {
    into.push(await startInstance(redisUrl, config));
  }
  return into;
}

export async function publishOk(url: string, channel: string, seqs: number[]): Promise<{ epoch: string; offset: number }[]> {
  const r = await publish(url, { messages: seqs.map((seq) => ({ channel, data: { seq } })) });
  if (r.status !== 200) {
    throw new Error(`publish on ${url} answered ${r.status}: ${JSON.stringify(r.body)}`);
  }
  return r.body.offsets;
}

/** Waits until an instance lists the channel (it learns channels created elsewhere from Redis). */
/**
 * Waits until `url` lists `channel` (and, with `until`, until its entry satisfies it: an instance
 * learns of a channel and of its messages through separate notices, so the listing can show the
 * channel before its first offset). The deadline only bounds a hang.
 */
export async function waitForChannel(url: string, channel: string, timeoutMs = 30_000, until?: (c: any) => boolean): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const r = await fetch(`${url}/api/v1/channels`);
    const body = (await r.json()) as { channels: { name: string }[] };
    const c = body.channels.find((x) => x.name === channel);
    if (c && (until === undefined || until(c))) {
      return c;
    }
    last = c;
    await sleep(20);
  }
  throw new Error(`${url} never listed ${channel}${until ? ` as expected; last seen: ${JSON.stringify(last)}` : ''}`);
}

export async function waitForReady(url: string, ready: boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/readyz`);
      if ((r.status === 200) === ready) {
        return;
      }
    } catch {
      // not listening (yet)
    }
    await sleep(50);
  }
  throw new Error(`${url}/readyz never became ${ready ? 200 : 503}`);
}

export interface HistoryMessage {
  offset: number;
  key?: string;
  deleted?: boolean;
  data: any;
}

/** Every message a channel holds, read page by page from GET /api/v1/messages. */
export async function readHistory(url: string, channel: string): Promise<HistoryMessage[]> {
  const out: HistoryMessage[] = [];
  let after = 0;
  for (;;) {
    const r = await fetch(`${url}/api/v1/messages?channel=${encodeURIComponent(channel)}&after=${after}&limit=5000`);
    const body = (await r.json()) as { messages: HistoryMessage[]; more: boolean };
    out.push(...body.messages);
    if (!body.more || body.messages.length === 0) {
      return out;
    }
    after = out[out.length - 1].offset;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * A logical subscriber that may use several connections in turn: every message it ever received
 * on a channel, in arrival order, and its position for resuming.
 */
export class ResumingSubscriber {
  readonly received: number[] = [];
  epoch = '';
  client!: WsTestClient;
  private seenFrames = 0;

  constructor(readonly channel: string) {}

  /** Connects to url and subscribes: from `since` the first time, then from its own position. */
  async connect(wsUrl: string, since?: unknown): Promise<Record<string, any>> {
    this.client = await WsTestClient.connect(wsUrl);
    this.seenFrames = 0;
    const position = this.received.length ? { epoch: this.epoch, offset: this.received[this.received.length - 1] } : since;
    const c = this.client;
    c.ws.on('message', () => this.collect(c));
    const reply = await c.subscribe(this.channel, position);
    this.collect(c);
    return reply;
  }

  /** Moves newly arrived messages of this connection into `received`. */
  private collect(c: WsTestClient): void {
    if (c !== this.client) {
      return;
    }
    for (; this.seenFrames < c.frames.length; this.seenFrames++) {
      const f = c.frames[this.seenFrames];
      if (f.channel !== this.channel) {
        continue;
      }
      if (f.type === 'subscribed') {
        this.epoch = f.epoch;
      } else if (f.type === 'messages') {
        for (const m of f.messages) {
          this.received.push(m.offset);
        }
      }
    }
  }

  get last(): number {
    return this.received.length ? this.received[this.received.length - 1] : 0;
  }

  async waitForOffset(offset: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.received.includes(offset)) {
        return;
      }
      await sleep(10);
    }
    throw new Error(`subscriber of ${this.channel}: wanted offset ${offset}, last ${this.last}`);
  }

  /** Gaps (an offset not following the previous one) and duplicates over every connection. */
  gapsAndDuplicates(from = 1): { gaps: number; duplicates: number } {
    const seen = new Set<number>();
    let gaps = 0;
    let duplicates = 0;
    let expected = from;
    for (const o of this.received) {
      if (seen.has(o)) {
        duplicates++;
        continue;
      }
      seen.add(o);
      if (o !== expected) {
        gaps++;
      }
      expected = o + 1;
    }
    return { gaps, duplicates };
  }

  close(): void {
    this.client?.close();
  }
}

export type { SseEvent } from '../helpers/sse-parser';

/** Reads an SSE stream until `until` holds for the events so far, or the timeout passes. */
export function readSse(
  url: string,
  headers: Record<string, string>,
  until: (events: SseEvent[]) => boolean,
  timeoutMs = 10_000,
): Promise<SseEvent[]> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const req = http.get(url, { headers }, (res) => {
      const feed = sseParser((ev) => events.push(ev));
      const done = (): void => {
        clearTimeout(t);
        req.destroy();
        resolve(events);
      };
      const t = setTimeout(done, timeoutMs);
      res.on('data', (d: Buffer) => {
        feed(d);
        if (until(events)) {
          done();
        }
      });
      res.on('end', done);
    });
    req.on('error', reject);
  });
}
