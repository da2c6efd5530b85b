/**
 * Test doubles for the client core: a fake clock (timers run only when a test advances time), a
 * scripted socket (the test plays the server frame by frame), and a small in-memory collector that
 * speaks the protocol over scripted sockets and REST, for tests and property runs that need one.
 */
import type { HistoryResponse, MessageItem, ServerFrame, Since } from '@streamgauge/protocol';
import type { Clock } from '../clock';
import type { HistoryQuery, RestReader, WebSocketLike } from '../transport';

/** Lets pending promise callbacks run (several rounds: chains of awaits). */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await Promise.resolve();
  }
}

export class FakeClock implements Clock {
  private t = 1_000_000;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Advances time, running each due timer in time order and letting promises settle in between. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) {
        if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) {
          next = e;
        }
      }
      if (!next) {
        break;
      }
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** A WebSocket whose server side is the test. */
export class ScriptedSocket implements WebSocketLike {
  static all: ScriptedSocket[] = [];
  static onCreate: ((s: ScriptedSocket) => void) | undefined;
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: Array<Record<string, unknown>> = [];
  closedByClient?: { code?: number; reason?: string };

  constructor(readonly url: string) {
    ScriptedSocket.all.push(this);
    ScriptedSocket.onCreate?.(this);
  }

  static reset(): void {
    ScriptedSocket.all = [];
    ScriptedSocket.onCreate = undefined;
  }

  static get last(): ScriptedSocket {
    return ScriptedSocket.all[ScriptedSocket.all.length - 1];
  }

  send(data: string): void {
    if (this.readyState !== 1) {
      throw new Error('send on a socket that is not open');
    }
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    this.readyState = 3;
  }

  // ---- the server's side ----
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  frame(f: ServerFrame | Record<string, unknown>): void {
    if (this.readyState === 1) {
      this.onmessage?.({ data: JSON.stringify(f) });
    }
  }

  welcome(): void {
    this.frame({ type: 'welcome', protocol: 1, server: 'test', heartbeatMs: 25_000, maxPayloadBytes: 65_536 });
  }

  serverClose(code: number, reason = ''): void {
    if (this.readyState === 3) {
      return;
    }
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  ops(op: string): Array<Record<string, unknown>> {
    return this.sent.filter((f) => f.op === op);
  }
}

export const msg = (offset: number, ts = offset, data: Record<string, unknown> = { n: offset }): MessageItem => ({ offset, ts, data });

/**
 * A tiny collector for one or more channels: a log per channel with an epoch, scripted sockets
 * answered as the collector would (welcome, subscribe with since, replay then live), and REST
 * history pages. Answers can be delayed on the fake clock to interleave with live frames.
 */
export class FakeCollector {
  readonly logs = new Map<string, { epoch: string; items: MessageItem[]; first: number }>();
  readonly sockets = new Set<ScriptedSocket>();
  private subs = new Map<ScriptedSocket, Set<string>>();
  private epochs = 0;
  up = true;
  restDelay: () => number = () => 0;
  restCalls = 0;

  constructor(
    private readonly clock: FakeClock,
    channels: string[],
  ) {
    for (const c of channels) {
      this.logs.set(c, { epoch: `e${++this.epochs}`, items: [], first: 1 });
    }
    ScriptedSocket.onCreate = (s) => this.accept(s);
  }

  private accept(s: ScriptedSocket): void {
    this.clock.setTimeout(() => {
      if (!this.up) {
        s.serverClose(1006);
        return;
      }
      this.sockets.add(s);
      this.subs.set(s, new Set());
      const send = s.send.bind(s);
      s.send = (data: string) => {
        send(data);
        this.onFrame(s, JSON.parse(data) as Record<string, unknown>);
      };
      s.open();
      s.welcome();
    }, 1);
  }

  private onFrame(s: ScriptedSocket, f: Record<string, unknown>): void {
    if (f.op === 'subscribe') {
      const channel = f.channel as string;
      const log = this.logs.get(channel)!;
      const since = f.since as Since | undefined;
      const last = log.first + log.items.length - 1;
      let after = last;
      let recovered = true;
      let reason: string | undefined;
      if (since && 'epoch' in since) {
        if (since.epoch !== log.epoch) {
          recovered = false;
          reason = 'epoch_changed';
          after = log.first - 1;
        } else if (since.offset < log.first - 1) {
          recovered = false;
          reason = 'expired';
          after = log.first - 1;
        } else {
          after = since.offset;
        }
      }
      this.subs.get(s)!.add(channel);
      s.frame({
        type: 'subscribed',
        id: f.id,
        channel,
        epoch: log.epoch,
        offset: after,
        recovered,
        ...(reason ? { reason } : {}),
        firstOffset: log.first,
        lastOffset: last,
        kind: 'stream',
        schema: { fields: [], declared: false },
      });
      const replay = log.items.filter((m) => m.offset > after);
      if (replay.length) {
        s.frame({ type: 'messages', channel, epoch: log.epoch, messages: replay });
      }
    } else if (f.op === 'unsubscribe') {
      this.subs.get(s)?.delete(f.channel as string);
    } else if (f.op === 'ping') {
      s.frame({ type: 'pong', id: f.id, ts: this.clock.now() });
    }
  }

  publish(channel: string, n: number): void {
    const log = this.logs.get(channel)!;
    const start = log.first + log.items.length;
    const items = Array.from({ length: n }, (_, i) => msg(start + i, this.clock.now()));
    log.items.push(...items);
    for (const s of this.sockets) {
      if (this.subs.get(s)?.has(channel)) {
        s.frame({ type: 'messages', channel, epoch: log.epoch, messages: items });
      }
    }
  }

  /** The channel's history is lost: a new epoch, offsets from 1 again. Subscribers are cut (as on a store loss). */
  newEpoch(channel: string): void {
    this.logs.set(channel, { epoch: `e${++this.epochs}`, items: [], first: 1 });
    for (const s of [...this.sockets]) {
      if (this.subs.get(s)?.has(channel)) {
        this.drop(s, 4504);
      }
    }
  }

  /** Retention: drops the oldest `n` messages of a channel. */
  evict(channel: string, n: number): void {
    const log = this.logs.get(channel)!;
    const k = Math.min(n, log.items.length);
    log.items.splice(0, k);
    log.first += k;
  }

  drop(s: ScriptedSocket, code = 1001): void {
    this.sockets.delete(s);
    this.subs.delete(s);
    s.serverClose(code);
  }

  dropAll(code = 1001): void {
    for (const s of [...this.sockets]) {
      this.drop(s, code);
    }
  }

  lastOffset(channel: string): number {
    const log = this.logs.get(channel)!;
    return log.first + log.items.length - 1;
  }

  readonly rest: RestReader = {
    messages: (q: HistoryQuery) =>
      new Promise<HistoryResponse>((resolve, reject) => {
        this.restCalls++;
        const answer = () => {
          if (!this.up) {
            reject(Object.assign(new Error('connection refused'), { code: 'SG_CLIENT_NETWORK' }));
            return;
          }
          const log = this.logs.get(q.channel)!;
          const last = log.first + log.items.length - 1;
          const limit = q.limit ?? 1000;
          let items = q.after !== undefined ? log.items.filter((m) => m.offset > q.after!) : log.items;
          let more = false;
          if (q.tail) {
            items = items.slice(-limit);
          } else if (items.length > limit) {
            items = items.slice(0, limit);
            more = true;
          }
          resolve({ channel: q.channel, epoch: log.epoch, firstOffset: log.first, lastOffset: last, messages: items, more });
        };
        const d = this.restDelay();
        if (d > 0) {
          this.clock.setTimeout(answer, d);
        } else {
          answer();
        }
      }),
    status: () => (this.up ? Promise.resolve({}) : Promise.reject(new Error('down'))),
  };
}
