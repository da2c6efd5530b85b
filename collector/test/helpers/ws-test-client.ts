/**
 * A real WebSocket client for tests: records every frame, waits for frames matching a predicate,
 * and tracks per-channel offsets to count gaps and duplicates.
 */
import WebSocket from 'ws';
import { EVENT_TIMEOUT_MS } from './deadlines';

export type Frame = Record<string, any>;

export class WsTestClient {
  readonly frames: Frame[] = [];
  /** Every message item received, per channel, in arrival order. */
  readonly messages = new Map<string, { offset: number; ts: number; data: any; key?: string; deleted?: boolean }[]>();
  closeCode: number | null = null;
  closeReason = '';
  private waiters: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private closeWaiters: ((code: number) => void)[] = [];
  private nextId = 1;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as Frame;
      this.frames.push(f);
      if (f.type === 'messages') {
        let list = this.messages.get(f.channel);
        if (!list) {
          this.messages.set(f.channel, (list = []));
        }
        list.push(...f.messages);
      }
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(f)) {
          w.resolve(f);
          return false;
        }
        return true;
      });
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      for (const w of this.closeWaiters) {
        w(code);
      }
    });
    ws.on('error', () => undefined);
  }

  static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<WsTestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const client = new WsTestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (already received or future) matching pred. */
  waitFor(pred: (f: Frame) => boolean, timeoutMs = EVENT_TIMEOUT_MS, from = 0): Promise<Frame> {
    const seen = this.frames.slice(from).find(pred);
    if (seen) {
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching frame within ${timeoutMs} ms; last frames: ${JSON.stringify(this.frames.slice(-3))}`));
      }, timeoutMs);
      const done = (f: Frame): void => {
        clearTimeout(t);
        resolve(f);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  /** Subscribes and waits for the reply (`subscribed` or `error`) with the request id. */
  async subscribe(channel: string, since?: unknown): Promise<Frame> {
    const id = this.nextId++;
    const from = this.frames.length;
    this.send({ op: 'subscribe', id, channel, ...(since === undefined ? {} : { since }) });
    return this.waitFor((f) => f.id === id && (f.type === 'subscribed' || f.type === 'error'), EVENT_TIMEOUT_MS, from);
  }

  /** Waits until `channel` has received a message with offset >= offset. */
  async waitForOffset(channel: string, offset: number, timeoutMs = EVENT_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const list = this.messages.get(channel) ?? [];
      if (list.length && list[list.length - 1].offset >= offset) {
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const list = this.messages.get(channel) ?? [];
    throw new Error(`channel ${channel}: wanted offset ${offset}, have up to ${list.length ? list[list.length - 1].offset : 'none'}`);
  }

  /** Offsets received on a channel that skip ahead (gaps) or repeat (duplicates). */
  gapsAndDuplicates(channel: string, from = 1): { gaps: number; duplicates: number } {
    const seen = new Set<number>();
    let gaps = 0;
    let duplicates = 0;
    let expected = from;
    for (const m of this.messages.get(channel) ?? []) {
      if (seen.has(m.offset)) {
        duplicates++;
        continue;
      }
      seen.add(m.offset);
      if (m.offset !== expected) {
        gaps++;
      }
      expected = m.offset + 1;
    }
    return { gaps, duplicates };
  }

  waitForClose(timeoutMs = EVENT_TIMEOUT_MS): Promise<number> {
    if (this.closeCode !== null) {
      return Promise.resolve(this.closeCode);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
      this.closeWaiters.push((code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
