/**
 * The RPC endpoints of one chain, used one at a time in config order. A transport failure (network,
 * timeout, HTTP status, closed socket) or an endpoint serving another chain moves to the next
 * endpoint at once; a JSON-RPC error is an answer and does not. Each endpoint's chain id is checked
 * before its first use. The pool also keeps the newHeads subscription on the active endpoint when
 * it is a WebSocket.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../logger';
import { EvmError } from './errors';
import { createHttpTransport } from './http-transport';
import { endpointLabel, type RpcTransport } from './rpc-transport';
import { createWsTransport } from './ws-transport';

export interface RpcPoolHooks {
  /** Every request, with its duration; `ok` false for transport failures and JSON-RPC errors. */
  request(method: string, seconds: number, ok: boolean): void;
  /** The active endpoint changed (also called once at creation). */
  active(label: string, labels: readonly string[]): void;
}

export interface RpcPoolOptions {
  urls: readonly string[];
  chainId: number;
  timeoutMs: number;
  logger: Logger;
  hooks: RpcPoolHooks;
  /** Tests inject transports; default: HTTP for http(s)://, WebSocket for ws(s)://. */
  createTransport?: (url: string, label: string, timeoutMs: number) => RpcTransport;
}

/** Labels of the URLs: host:port, with `#index` added where two URLs share a host. */
export function endpointLabels(urls: readonly string[]): string[] {
  const base = urls.map(endpointLabel);
  return base.map((l, i) => (base.indexOf(l) !== base.lastIndexOf(l) ? `${l}#${i}` : l));
}

function defaultTransport(url: string, label: string, timeoutMs: number): RpcTransport {
  return /^wss?:/.test(url) ? createWsTransport(url, label, timeoutMs) : createHttpTransport(url, label, timeoutMs);
}

export class RpcPool {
  private readonly transports: RpcTransport[];
  private readonly labels: string[];
  private activeIndex = 0;
  private readonly verified = new Set<number>();
  private readonly noSubscribe = new Set<number>();
  private heads: { index: number; unsubscribe: () => void } | undefined;
  private closed = false;

  constructor(private readonly o: RpcPoolOptions) {
    this.labels = endpointLabels(o.urls);
    const create = o.createTransport ?? defaultTransport;
    this.transports = o.urls.map((u, i) => create(u, this.labels[i], o.timeoutMs));
    o.hooks.active(this.labels[0], this.labels);
  }

  /** Label of the endpoint in use. */
  get endpoint(): string {
    return this.labels[this.activeIndex];
  }

  /** true while a newHeads subscription delivers heads from the active endpoint. */
  get subscribed(): boolean {
    return this.heads !== undefined && this.heads.index === this.activeIndex;
  }

  /**
   * Sends one request, failing over through every endpoint once. Throws EVM_RPC_ERROR (an answer),
   * or EVM_ALL_ENDPOINTS_DOWN when every endpoint failed.
   */
  async request<T>(method: string, params: unknown[] = []): Promise<T> {
    if (this.closed) {
      throw new EvmError('EVM_RPC_UNAVAILABLE', `${method}: the pool is closed`);
    }
    let last: EvmError | undefined;
    for (let tries = 0; tries < this.transports.length; tries++) {
      const i = this.activeIndex;
      try {
        if (!this.verified.has(i)) {
          await this.verifyChain(i);
        }
        return (await this.timed(i, method, params)) as T;
      } catch (err) {
        const e = err instanceof EvmError ? err : new EvmError('EVM_RPC_UNAVAILABLE', String(err), { cause: err });
        if (e.code === 'EVM_RPC_ERROR' || this.closed) {
          throw e;
        }
        last = e;
        this.failOver(i, e);
      }
    }
    throw new EvmError('EVM_ALL_ENDPOINTS_DOWN', `all ${this.transports.length} RPC endpoints failed; last: ${last?.message}`, {
      cause: last,
    });
  }

  /**
   * Makes sure a newHeads subscription runs on the active endpoint if it can (WebSocket, method
   * supported). Returns whether one runs; without it the follower polls. `onLost` runs when the
   * subscription's connection drops, so the follower checks at once instead of at its next poll.
   */
  async ensureHeads(onHead: (n: number) => void, onLost: () => void = () => undefined): Promise<boolean> {
    if (this.closed) {
      return false;
    }
    if (this.subscribed) {
      return true;
    }
    this.dropHeads();
    const i = this.activeIndex;
    const t = this.transports[i];
    if (!t.subscribeHeads || this.noSubscribe.has(i) || !this.verified.has(i)) {
      return false;
    }
    const started = performance.now();
    try {
      const unsubscribe = await t.subscribeHeads(onHead, () => {
        if (this.heads?.index === i) {
          this.heads = undefined;
          onLost();
        }
      });
      this.o.hooks.request('eth_subscribe', (performance.now() - started) / 1000, true);
      this.heads = { index: i, unsubscribe };
      return true;
    } catch (err) {
      this.o.hooks.request('eth_subscribe', (performance.now() - started) / 1000, false);
      if ((err as EvmError).code === 'EVM_RPC_ERROR') {
        // The endpoint has no subscriptions (some providers disable them): poll it instead.
        this.noSubscribe.add(i);
        this.o.logger.warn({ endpoint: t.label, err: (err as Error).message }, 'evm: newHeads subscription refused; polling');
      } else {
        this.failOver(i, err as EvmError);
      }
      return false;
    }
  }

  /** Ends every connection and fails requests in flight; later requests fail at once. */
  close(): void {
    this.closed = true;
    this.dropHeads();
    for (const t of this.transports) {
      t.close();
    }
  }

  private dropHeads(): void {
    const h = this.heads;
    this.heads = undefined;
    h?.unsubscribe();
  }

  private async timed(i: number, method: string, params: unknown[]): Promise<unknown> {
    const started = performance.now();
    try {
      const r = await this.transports[i].request(method, params);
      this.o.hooks.request(method, (performance.now() - started) / 1000, true);
      return r;
    } catch (err) {
      this.o.hooks.request(method, (performance.now() - started) / 1000, false);
      throw err;
    }
  }

  private async verifyChain(i: number): Promise<void> {
    let id: string;
    try {
      id = (await this.timed(i, 'eth_chainId', [])) as string;
    } catch (err) {
      // An endpoint that cannot even say its chain id is unusable, whatever the reason.
      const e = err as EvmError;
      throw e.code === 'EVM_RPC_ERROR' ? new EvmError('EVM_RPC_UNAVAILABLE', e.message, { cause: e }) : e;
    }
    if (Number.parseInt(id, 16) !== this.o.chainId) {
      throw new EvmError('EVM_CHAIN_MISMATCH', `${this.labels[i]} serves chain id ${Number.parseInt(id, 16)}, not ${this.o.chainId}`);
    }
    this.verified.add(i);
  }

  private failOver(i: number, err: EvmError): void {
    if (this.activeIndex !== i) {
      return; // another request already moved on
    }
    this.verified.delete(i);
    if (this.heads?.index === i) {
      this.dropHeads();
    }
    this.transports[i].close();
    this.activeIndex = (i + 1) % this.transports.length;
    this.o.logger.warn({ from: this.labels[i], to: this.endpoint, err: err.message }, 'evm: RPC endpoint failed; failing over');
    this.o.hooks.active(this.endpoint, this.labels);
  }
}
