/**
 * One chain's RPC endpoints on viem's transports: `http` and `webSocket` under `fallback`, which
 * tries them in config order and retries a failed request with exponential delay (viem's
 * buildRequest). viem does the JSON-RPC framing, ids, timeouts, the WebSocket and the newHeads
 * subscription. What stays here is the project's own, layered on each endpoint:
 *
 * - the chain-id check: an endpoint's eth_chainId is checked before its first use and again after
 *   each failure (it may have come back as another chain); a mismatch fails the endpoint over;
 * - a failed endpoint is skipped, without a request, for a poll interval: viem's fallback
 *   starts every request at the first URL, and a dead or black-holed first URL must not cost a
 *   connection attempt or a timeout on every request;
 * - errors described with `host:port` only (endpoint-error.ts);
 * - metrics per request and the active endpoint (the one that answered last).
 *
 * viem's WebSocket reconnect is off: its socket client gives up after 5 attempts and then keeps a
 * dead socket in its cache, and it prints failed reconnects with console.error (full URL). Instead
 * a failed socket is closed and dropped from viem's cache, and the next request opens a new one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createPublicClient,
  createTransport,
  type EIP1193RequestFn,
  fallback,
  hexToNumber,
  http,
  TimeoutError,
  type Transport,
  webSocket,
} from 'viem';
import { socketClientCache } from 'viem/utils';
import { endpointLabels } from './endpoint-label';
import { describeRpcError, EndpointError, endpointErrorOf, MAX_RESPONSE_BYTES } from './endpoint-error';

/** A failed endpoint is not asked again before max(this, pollIntervalMs) (requests go to the next one meanwhile). */
export const ENDPOINT_RETRY_AFTER_MS = 500;
/** Retries of a request that failed on every endpoint, with viem's exponential delay from 150 ms. */
export const REQUEST_RETRIES = 2;

export interface RpcHooks {
  /** Every request sent to an endpoint, with its duration; `ok` false for failures and error answers. */
  request(method: string, seconds: number, ok: boolean): void;
  /** An endpoint answered (a result or a JSON-RPC error): it is the one in use. */
  answered(label: string): void;
}

export interface ChainRpcOptions {
  urls: readonly string[];
  chainId: number;
  timeoutMs: number;
  /** How long a failed endpoint is skipped (the chain's pollIntervalMs, at least ENDPOINT_RETRY_AFTER_MS). */
  retryAfterMs: number;
  hooks: RpcHooks;
}

export interface HeadSubscription {
  /** The endpoint delivering heads. */
  label: string;
  unsubscribe(): void;
}

interface Endpoint {
  url: string;
  label: string;
  ws: boolean;
  /** The viem transport of this URL alone (retries off: the fallback retries). */
  inner: Transport;
  /** Resolved once eth_chainId matched; cleared by a failure. */
  verified?: Promise<void>;
  failedAt?: number;
  lastFailure?: EndpointError;
  noSubscribe?: boolean;
}

export class ChainRpc {
  readonly labels: string[];
  private readonly endpoints: Endpoint[];
  private readonly request_: EIP1193RequestFn;
  private readonly closing = new AbortController();

  constructor(private readonly o: ChainRpcOptions) {
    this.labels = endpointLabels(o.urls);
    this.endpoints = o.urls.map((url, i) => {
      const ws = /^wss?:/.test(url);
      return {
        url,
        label: this.labels[i],
        ws,
        inner: ws
          ? webSocket(url, { reconnect: false, retryCount: 0, timeout: o.timeoutMs })
          : http(url, { retryCount: 0, timeout: o.timeoutMs, maxResponseBodySize: MAX_RESPONSE_BYTES }),
      };
    });
    const client = createPublicClient({
      transport: fallback(
        this.endpoints.map((e) => this.checked(e)),
        { retryCount: REQUEST_RETRIES },
      ),
    });
    this.request_ = client.request as EIP1193RequestFn;
  }

  /** One request through the fallback; rejects with a viem error wrapping an EndpointError. */
  async request<T>(method: string, params: unknown[] = []): Promise<T> {
    return (await this.request_({ method, params } as never, { signal: this.closing.signal })) as T;
  }

  /** true when some endpoint is a WebSocket: heads can come by subscription. */
  get canSubscribe(): boolean {
    return this.endpoints.some((e) => e.ws && !e.noSubscribe);
  }

  /**
   * eth_subscribe newHeads on the first WebSocket endpoint (config order) that is up, serves the
   * chain and accepts subscriptions. `onHead` runs for each notification, `onLost` once if the
   * socket drops. Resolves with undefined when no endpoint could subscribe.
   */
  async subscribeHeads(onHead: () => void, onLost: () => void): Promise<HeadSubscription | undefined> {
    for (const e of this.endpoints) {
      if (!e.ws || e.noSubscribe || this.coolingDown(e) || this.closing.signal.aborted) {
        continue;
      }
      const started = performance.now();
      let lost = false;
      try {
        await this.verify(e);
        // Closed meanwhile: subscribing now would open a socket after close() dropped them.
        this.closing.signal.throwIfAborted();
        const value = e.inner({ retryCount: 0 }).value as {
          subscribe(a: {
            params: ['newHeads'];
            onData: (d: unknown) => void;
            onError: (err: unknown) => void;
          }): Promise<{ unsubscribe(): Promise<unknown> }>;
        };
        // viem waits for the subscribe reply without a timeout: bound it (a black-holed socket).
        const deadline = new AbortController();
        const sub = await Promise.race([
          value.subscribe({
            params: ['newHeads'],
            onData: () => {
              if (!lost) {
                onHead();
              }
            },
            onError: (err) => {
              if (!lost) {
                lost = true;
                this.failed(e, describeRpcError(err, e, 'eth_subscribe', this.o.timeoutMs));
                onLost();
              }
            },
          }),
          sleep(this.o.timeoutMs, undefined, { signal: deadline.signal }).then(() => {
            throw new TimeoutError({ body: { method: 'eth_subscribe' }, url: e.label });
          }),
        ]).finally(() => deadline.abort());
        this.o.hooks.request('eth_subscribe', (performance.now() - started) / 1000, true);
        return {
          label: e.label,
          unsubscribe: () => {
            lost = true;
            void sub.unsubscribe().catch(() => undefined);
          },
        };
      } catch (err) {
        lost = true;
        this.o.hooks.request('eth_subscribe', (performance.now() - started) / 1000, false);
        const d = endpointErrorOf(err) ?? describeRpcError(err, e, 'eth_subscribe', this.o.timeoutMs);
        if (d.answer) {
          // The endpoint has no subscriptions (some providers disable them): poll it instead.
          e.noSubscribe = true;
        } else {
          this.failed(e, d);
        }
      }
    }
    return undefined;
  }

  /** Aborts requests in flight and closes every socket; later requests fail at once. */
  close(): void {
    this.closing.abort(new Error('the EVM source is stopping'));
    for (const e of this.endpoints) {
      if (e.ws) {
        dropSocket(e.url);
      }
    }
  }

  /** The endpoint behind viem's fallback: chain-id check, skip while failed, metrics, URL-free errors. */
  private checked(e: Endpoint): Transport {
    return ({ timeout }) =>
      createTransport({
        key: e.ws ? 'webSocket' : 'http',
        name: e.label,
        type: e.ws ? 'webSocket' : 'http',
        retryCount: 0,
        timeout,
        request: (async ({ method, params }: { method: string; params?: unknown }, options?: { signal?: AbortSignal }) => {
          // After close() no request may open a socket (viem would cache a new one).
          this.closing.signal.throwIfAborted();
          if (this.coolingDown(e)) {
            throw e.lastFailure!;
          }
          await this.verify(e);
          return this.send(e, method, params as unknown[], options?.signal);
        }) as EIP1193RequestFn,
      });
  }

  private coolingDown(e: Endpoint): boolean {
    return e.failedAt !== undefined && Date.now() - e.failedAt < Math.max(ENDPOINT_RETRY_AFTER_MS, this.o.retryAfterMs);
  }

  private verify(e: Endpoint): Promise<void> {
    e.verified ??= (async () => {
      const id = await this.send<string>(e, 'eth_chainId', [], undefined, false);
      if (hexToNumber(id as `0x${string}`) !== this.o.chainId) {
        const err = new EndpointError(
          e.label,
          'eth_chainId',
          `serves chain id ${hexToNumber(id as `0x${string}`)}, not ${this.o.chainId}`,
          false,
        );
        // A wrong chain is not a JSON-RPC failure of eth_chainId: that request succeeded.
        this.failed(e, err);
        throw err;
      }
    })();
    const p = e.verified;
    p.catch(() => {
      if (e.verified === p) {
        e.verified = undefined;
      }
    });
    return p;
  }

  /** `active`: a success makes this the endpoint in use (not for the chain-id check: it may mismatch). */
  private async send<T>(e: Endpoint, method: string, params: unknown[], signal?: AbortSignal, active = true): Promise<T> {
    const started = performance.now();
    try {
      const r = (await e.inner({ retryCount: 0 }).request({ method, params } as never, signal ? { signal } : undefined)) as T;
      this.o.hooks.request(method, (performance.now() - started) / 1000, true);
      e.failedAt = undefined;
      if (active) {
        this.o.hooks.answered(e.label);
      }
      return r;
    } catch (err) {
      this.o.hooks.request(method, (performance.now() - started) / 1000, false);
      const d = describeRpcError(err, e, method, this.o.timeoutMs);
      if (d.answer) {
        this.o.hooks.answered(e.label);
      } else if (!this.closing.signal.aborted) {
        this.failed(e, d);
      }
      throw d;
    }
  }

  /** Marks a transport-level failure: skipped for a while, chain id checked again, socket dropped. */
  private failed(e: Endpoint, err: EndpointError): void {
    e.failedAt = Date.now();
    e.lastFailure = err;
    e.verified = undefined;
    if (e.ws) {
      dropSocket(e.url);
    }
  }
}

/** Closes viem's cached socket client for `url`, so the next request connects afresh. */
function dropSocket(url: string): void {
  for (const c of [...socketClientCache.values()]) {
    if (c.url === url) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
  }
}
