/**
 * The publishing half of the SDK: `publish()` queues a message and resolves with its offset once
 * the collector's log holds it. Messages are sent in batches (up to `maxBatch`, after at most
 * `lingerMs`), one request at a time so order is kept, retried with capped full-jitter backoff on
 * network errors, 429 and 5xx. The queue is bounded (`maxQueue`): when full, `publish()` waits for
 * room (backpressure) or rejects with SDK_QUEUE_FULL (`onFull: 'reject'`).
 *
 * Exactly once, by default: every message gets a publish id (`id`, a random UUID unless the
 * caller set one), and a retry sends the same ids, so the collector returns the original offsets
 * for messages it already stored (a 503 whose append did happen, a lost answer) instead of storing
 * them twice (docs/protocol.md, idempotent publishes). With `ids: false`, delivery is at least once.
 */
import type { ErrorBody, PublishItem, PublishResponse, PublishResult } from '@streamgauge/protocol';
import { backoffDelay, sleep } from './backoff';
import { SdkErrorCode, StreamgaugeError } from './errors';

export interface PublisherOptions {
  /** Collector base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** API key, sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Messages per request at most (default 500; the collector allows limits.maxBatch). */
  maxBatch?: number;
  /** How long a message may wait for others to fill a batch, ms (default 20). */
  lingerMs?: number;
  /** Messages queued at most (default 10,000). */
  maxQueue?: number;
  /** When the queue is full: wait for room (default) or reject with SDK_QUEUE_FULL. */
  onFull?: 'wait' | 'reject';
  /** Attempts after the first for a retryable failure (default 8). */
  maxRetries?: number;
  /** Backoff base and cap, ms (defaults 100 and 10,000). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Per-request timeout, ms (default 10,000). */
  requestTimeoutMs?: number;
  /** Give every message without an `id` a random one, so retries are never stored twice (default true). */
  ids?: boolean;
}

export const PUBLISHER_DEFAULTS = {
  maxBatch: 500,
  lingerMs: 20,
  maxQueue: 10_000,
  onFull: 'wait' as 'wait' | 'reject',
  maxRetries: 8,
  retryBaseMs: 100,
  retryMaxMs: 10_000,
  requestTimeoutMs: 10_000,
  ids: true,
};

interface Queued {
  item: PublishItem;
  resolve: (r: PublishResult) => void;
  reject: (e: StreamgaugeError) => void;
}

export interface Publisher {
  /** Queues one message; resolves with its channel, epoch and offset once stored. */
  publish(item: PublishItem): Promise<PublishResult>;
  /** Queues several messages (each may go in a different batch). */
  publishMany(items: PublishItem[]): Promise<PublishResult[]>;
  /**
   * Resolves when the queue has room. For fast producers that do not await each publish:
   * `await pub.ready(); void pub.publish(m)` keeps memory bounded (like a stream's drain).
   */
  ready(): Promise<void>;
  /** Resolves when every message queued so far is settled. */
  flush(): Promise<void>;
  /** Flushes, then refuses new messages with SDK_CLOSED. */
  close(): Promise<void>;
  /** Messages queued and not yet sent. */
  readonly queued: number;
}

/**
 * @example
 * const pub = createPublisher({ url: 'http://127.0.0.1:8080' });
 * await pub.publish({ channel: 'attendance/scans', data: { device: 'gate-a', result: 'success', latency_ms: 120 } });
 * await pub.close();
 */
export function createPublisher(options: PublisherOptions): Publisher {
  const o = { ...PUBLISHER_DEFAULTS, ...options };
  if (!/^https?:\/\//.test(o.url)) {
    throw new TypeError(`url must start with http:// or https://, got ${JSON.stringify(o.url)}`);
  }
  if (o.maxBatch < 1 || o.maxQueue < o.maxBatch) {
    throw new TypeError(`maxBatch (${o.maxBatch}) must be >= 1 and <= maxQueue (${o.maxQueue})`);
  }
  const doFetch = o.fetch ?? fetch;
  const endpoint = `${o.url.replace(/\/$/, '')}/api/v1/publish`;
  const queue: Queued[] = [];
  const roomWaiters: (() => void)[] = [];
  const idleWaiters: (() => void)[] = [];
  let sending = false;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const schedule = (): void => {
    if (sending || queue.length === 0) {
      return;
    }
    if (queue.length >= o.maxBatch) {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      void pump();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = undefined;
        void pump();
      }, o.lingerMs);
    }
  };

  async function send(items: PublishItem[]): Promise<PublishResult[]> {
    let last: StreamgaugeError | undefined;
    for (let attempt = 0; attempt <= o.maxRetries; attempt++) {
      if (attempt > 0) {
        await sleep(backoffDelay(attempt - 1, o.retryBaseMs, o.retryMaxMs));
      }
      try {
        return await request(items);
      } catch (err) {
        last = err as StreamgaugeError;
        if (!last.retryable) {
          throw last;
        }
      }
    }
    throw new StreamgaugeError(SdkErrorCode.RetriesExhausted, `publish failed after ${o.maxRetries + 1} attempts: ${last?.message}`, {
      cause: last,
      status: last?.status,
    });
  }

  async function request(items: PublishItem[]): Promise<PublishResult[]> {
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), o.requestTimeoutMs);
    let res: Response;
    try {
      res = await doFetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
        body: JSON.stringify({ messages: items }),
        signal: ac.signal,
      });
    } catch (err) {
      const timeout = ac.signal.aborted;
      throw new StreamgaugeError(
        timeout ? SdkErrorCode.Timeout : SdkErrorCode.Network,
        timeout ? `no answer within ${o.requestTimeoutMs} ms` : `cannot reach ${endpoint}: ${(err as Error).message}`,
        {
          retryable: true,
          cause: err,
        },
      );
    } finally {
      clearTimeout(t);
    }
    const text = await res.text();
    if (res.ok) {
      return (JSON.parse(text) as PublishResponse).offsets;
    }
    let body: ErrorBody | undefined;
    try {
      body = JSON.parse(text) as ErrorBody;
    } catch {
      // not JSON: a proxy's page
    }
    const retryable = res.status === 429 || res.status >= 500;
    throw new StreamgaugeError(body?.error?.code ?? 'SG_INTERNAL', body?.error?.message ?? `HTTP ${res.status}: ${text.slice(0, 200)}`, {
      status: res.status,
      retryable,
    });
  }

  async function pump(): Promise<void> {
    if (sending) {
      return;
    }
    sending = true;
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, o.maxBatch);
        while (roomWaiters.length > 0 && queue.length < o.maxQueue) {
          roomWaiters.shift()!();
        }
        try {
          const results = await send(batch.map((q) => q.item));
          batch.forEach((q, i) => q.resolve(results[i]));
        } catch (err) {
          const e = err as StreamgaugeError;
          if (batch.length > 1 && !e.retryable && e.status !== undefined && e.status < 500 && e.status !== 413) {
            // The collector refuses a whole batch for one bad message: find it by sending one at a time,
            // so the other publishers' messages still go through.
            for (const q of batch) {
              await send([q.item]).then(
                (r) => q.resolve(r[0]),
                (e1: unknown) => q.reject(e1 as StreamgaugeError),
              );
            }
          } else {
            batch.forEach((q) => q.reject(e));
          }
        }
      }
    } finally {
      sending = false;
      if (queue.length > 0) {
        schedule();
      } else {
        idleWaiters.splice(0).forEach((w) => w());
      }
    }
  }

  const publish = async (item: PublishItem): Promise<PublishResult> => {
    if (closed) {
      throw new StreamgaugeError(SdkErrorCode.Closed, 'publisher is closed');
    }
    while (queue.length >= o.maxQueue) {
      if (o.onFull === 'reject') {
        throw new StreamgaugeError(SdkErrorCode.QueueFull, `publish queue is full (maxQueue ${o.maxQueue})`, { retryable: true });
      }
      await new Promise<void>((r) => roomWaiters.push(r));
      if (closed) {
        throw new StreamgaugeError(SdkErrorCode.Closed, 'publisher is closed');
      }
    }
    // The id is fixed before the first attempt: every retry of this message carries the same one.
    const withId = o.ids && item.id === undefined ? { ...item, id: globalThis.crypto.randomUUID() } : item;
    return new Promise<PublishResult>((resolve, reject) => {
      queue.push({ item: withId, resolve, reject });
      schedule();
    });
  };

  const flush = async (): Promise<void> => {
    if (queue.length === 0 && !sending) {
      return;
    }
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    const idle = new Promise<void>((r) => idleWaiters.push(r));
    void pump();
    await idle;
  };

  return {
    publish,
    publishMany: (items) => Promise.all(items.map(publish)),
    async ready() {
      while (queue.length >= o.maxQueue && !closed) {
        await new Promise<void>((r) => roomWaiters.push(r));
      }
    },
    flush,
    async close() {
      await flush();
      closed = true;
      roomWaiters.splice(0).forEach((w) => w());
    },
    get queued() {
      return queue.length;
    },
  };
}
