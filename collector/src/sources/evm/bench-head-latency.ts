/**
 * Head-to-subscriber latency, for `npm run bench`: the time from the chain's newHeads notification
 * to the block's delivery on a collector WebSocket subscription, both seen by this process (one
 * clock). It needs a dev chain that mines on `evm_mine` (hardhat node) and a collector following
 * it under `chain`; it mines `blocks` blocks one at a time, each after the previous was delivered.
 *
 * @example
 * const r = await measureHeadLatency({ rpcWsUrl: 'ws://127.0.0.1:8545', collectorWsUrl: 'ws://127.0.0.1:8080/ws', chain: 'local' });
 * console.log(r.p50Ms, r.p99Ms);
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface MeasureHeadLatencyParameters {
  /** WebSocket JSON-RPC of the chain (hardhat node: same port as HTTP). */
  rpcWsUrl: string;
  /** The collector's WebSocket endpoint (`ws://host:port/ws`). */
  collectorWsUrl: string;
  /** Chain name in the collector's config (channel `evm/<chain>/blocks`). */
  chain: string;
  /** Blocks to mine and measure. Default 200. */
  blocks?: number;
  /** Blocks mined first and not measured. Default 10. */
  warmup?: number;
  /** Per-block timeout. Default 10 s. */
  timeoutMs?: number;
  /** Extra headers for the collector connection (API key). */
  headers?: Record<string, string>;
}

export interface MeasureHeadLatencyReturnType {
  count: number;
  /** Latency per measured block, ms, in mining order. */
  samplesMs: number[];
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

function open(url: string, headers?: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
}

export async function measureHeadLatency(p: MeasureHeadLatencyParameters): Promise<MeasureHeadLatencyReturnType> {
  const blocks = p.blocks ?? 200;
  const warmup = p.warmup ?? 10;
  const timeoutMs = p.timeoutMs ?? 10_000;
  const channel = `evm/${p.chain}/blocks`;
  const rpc = await open(p.rpcWsUrl);
  const sg = await open(p.collectorWsUrl, p.headers);
  const headAt = new Map<number, number>();
  const deliveredAt = new Map<number, number>();
  let waiter: { number: number; resolve: () => void } | undefined;
  let nextId = 1;
  const replies = new Map<number, (v: unknown) => void>();
  try {
    rpc.on('message', (raw) => {
      const now = performance.now();
      const m = JSON.parse(raw.toString()) as { id?: number; result?: unknown; method?: string; params?: { result: { number: string } } };
      if (m.method === 'eth_subscription' && m.params) {
        headAt.set(Number.parseInt(m.params.result.number, 16), now);
      } else if (m.id !== undefined) {
        replies.get(m.id)?.(m.result);
        replies.delete(m.id);
      }
    });
    const call = (method: string, params: unknown[] = []): Promise<unknown> =>
      new Promise((resolve) => {
        const id = nextId++;
        replies.set(id, resolve);
        rpc.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      });
    sg.on('message', (raw) => {
      const now = performance.now();
      const f = JSON.parse(raw.toString()) as { type: string; channel?: string; messages?: { data: { number: number } }[] };
      if (f.type !== 'messages' || f.channel !== channel) {
        return;
      }
      for (const m of f.messages ?? []) {
        deliveredAt.set(m.data.number, now);
        if (waiter && m.data.number >= waiter.number) {
          waiter.resolve();
        }
      }
    });
    await call('eth_subscribe', ['newHeads']);
    await new Promise<void>((resolve, reject) => {
      sg.on('message', function onReply(raw) {
        const f = JSON.parse(raw.toString()) as { type: string; id?: number; message?: string };
        if (f.id === 1) {
          sg.off('message', onReply);
          if (f.type === 'subscribed') {
            resolve();
          } else {
            reject(new Error(`cannot subscribe to ${channel}: ${f.message}`));
          }
        }
      });
      sg.send(JSON.stringify({ op: 'subscribe', id: 1, channel }));
    });
    const samples: number[] = [];
    for (let i = 0; i < warmup + blocks; i++) {
      const before = Number.parseInt((await call('eth_blockNumber')) as string, 16);
      const target = before + 1;
      const delivered = new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`block ${target} not delivered on ${channel} within ${timeoutMs} ms`)), timeoutMs);
        waiter = {
          number: target,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        };
      });
      await call('evm_mine');
      await delivered;
      waiter = undefined;
      const h = headAt.get(target);
      const d = deliveredAt.get(target);
      if (i >= warmup && h !== undefined && d !== undefined) {
        samples.push(d - h);
      }
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const r = (x: number): number => Math.round(x * 1000) / 1000;
    return {
      count: samples.length,
      samplesMs: samples.map(r),
      meanMs: r(samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length)),
      p50Ms: r(quantile(sorted, 0.5)),
      p95Ms: r(quantile(sorted, 0.95)),
      p99Ms: r(quantile(sorted, 0.99)),
      maxMs: r(sorted[sorted.length - 1] ?? 0),
    };
  } finally {
    rpc.terminate();
    sg.terminate();
  }
}
