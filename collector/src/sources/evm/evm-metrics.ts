/**
 * Prometheus metrics of the EVM sources, registered once per registry and shared by every chain
 * (label `chain`). Labels stay low-cardinality: chain, contract and event names from config, RPC
 * method names, endpoint host:port; never a hash or an address. Head age is computed at scrape time.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ResolvedChain } from './config';

export type SourceState = 'following' | 'degraded' | 'down';

interface ChainLive {
  /** Timestamp (s) of the last published block, for head age. */
  headTimestamp?: number;
  state: SourceState;
}

export interface EvmMetrics {
  headBlock: Gauge<'chain'>;
  blockInterval: Gauge<'chain'>;
  gasUsedRatio: Gauge<'chain'>;
  baseFee: Gauge<'chain'>;
  blockTransactions: Gauge<'chain'>;
  blocks: Counter<'chain'>;
  events: Counter<'chain' | 'contract' | 'event'>;
  reorgs: Counter<'chain'>;
  resets: Counter<'chain'>;
  reorgLastDepth: Gauge<'chain'>;
  confirmationDepth: Gauge<'chain'>;
  rpcRequests: Counter<'chain' | 'method'>;
  rpcErrors: Counter<'chain' | 'method'>;
  rpcDuration: Histogram<'chain' | 'method'>;
  endpointActive: Gauge<'chain' | 'endpoint'>;
  /** Per-chain values read at scrape time. */
  live: Map<string, ChainLive>;
}

const byRegistry = new WeakMap<Registry, EvmMetrics>();

export function evmMetrics(registry: Registry): EvmMetrics {
  const known = byRegistry.get(registry);
  if (known) {
    return known;
  }
  const r = [registry];
  const live = new Map<string, ChainLive>();
  const m: EvmMetrics = {
    headBlock: new Gauge({
      name: 'streamgauge_evm_head_block',
      help: 'Number of the last block published.',
      labelNames: ['chain'],
      registers: r,
    }),
    blockInterval: new Gauge({
      name: 'streamgauge_evm_block_interval_seconds',
      help: 'Seconds between the last published block and its parent (block timestamps).',
      labelNames: ['chain'],
      registers: r,
    }),
    gasUsedRatio: new Gauge({
      name: 'streamgauge_evm_gas_used_ratio',
      help: 'gasUsed / gasLimit of the last block (0-1).',
      labelNames: ['chain'],
      registers: r,
    }),
    baseFee: new Gauge({
      name: 'streamgauge_evm_base_fee_gwei',
      help: 'EIP-1559 base fee of the last block, in gwei.',
      labelNames: ['chain'],
      registers: r,
    }),
    blockTransactions: new Gauge({
      name: 'streamgauge_evm_block_transactions',
      help: 'Transactions in the last block.',
      labelNames: ['chain'],
      registers: r,
    }),
    blocks: new Counter({
      name: 'streamgauge_evm_blocks_total',
      help: 'Blocks published (replacement blocks after a reorg included).',
      labelNames: ['chain'],
      registers: r,
    }),
    events: new Counter({
      name: 'streamgauge_evm_events_total',
      help: 'Decoded events published, by contract name (config) and event name.',
      labelNames: ['chain', 'contract', 'event'],
      registers: r,
    }),
    reorgs: new Counter({ name: 'streamgauge_evm_reorgs_total', help: 'Reorganisations detected.', labelNames: ['chain'], registers: r }),
    resets: new Counter({
      name: 'streamgauge_evm_chain_resets_total',
      help: 'Chain resets detected (another genesis, or the whole reorg window replaced): the chain channels started a new epoch.',
      labelNames: ['chain'],
      registers: r,
    }),
    reorgLastDepth: new Gauge({
      name: 'streamgauge_evm_reorg_last_depth',
      help: 'Orphaned blocks in the last reorganisation.',
      labelNames: ['chain'],
      registers: r,
    }),
    confirmationDepth: new Gauge({
      name: 'streamgauge_evm_confirmation_depth',
      help: 'Configured confirmations: blocks deeper than this under the head are final.',
      labelNames: ['chain'],
      registers: r,
    }),
    rpcRequests: new Counter({
      name: 'streamgauge_evm_rpc_requests_total',
      help: 'JSON-RPC requests sent, by method.',
      labelNames: ['chain', 'method'],
      registers: r,
    }),
    rpcErrors: new Counter({
      name: 'streamgauge_evm_rpc_errors_total',
      help: 'JSON-RPC requests that failed (transport failure or error answer), by method.',
      labelNames: ['chain', 'method'],
      registers: r,
    }),
    rpcDuration: new Histogram({
      name: 'streamgauge_evm_rpc_duration_seconds',
      help: 'JSON-RPC request latency, by method.',
      labelNames: ['chain', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: r,
    }),
    endpointActive: new Gauge({
      name: 'streamgauge_evm_rpc_endpoint_active',
      help: '1 for the RPC endpoint in use (host:port), 0 for the others.',
      labelNames: ['chain', 'endpoint'],
      registers: r,
    }),
    live,
  };
  new Gauge({
    name: 'streamgauge_evm_head_age_seconds',
    help: 'Seconds since the timestamp of the last published block (now minus block time).',
    labelNames: ['chain'],
    registers: r,
    collect() {
      const now = Date.now() / 1000;
      for (const [chain, l] of live) {
        if (l.headTimestamp !== undefined) {
          this.set({ chain }, Math.max(0, now - l.headTimestamp));
        }
      }
    },
  });
  new Gauge({
    name: 'streamgauge_evm_source_up',
    help: '1 while the chain source follows the head, 0 when degraded or down.',
    labelNames: ['chain'],
    registers: r,
    collect() {
      for (const [chain, l] of live) {
        this.set({ chain }, l.state === 'following' ? 1 : 0);
      }
    },
  });
  byRegistry.set(registry, m);
  return m;
}

/**
 * Every counter series a chain can have, created at 0 when its source starts, so the first reorg,
 * RPC error or event shows in increase() and rate() (a series born at 1 has no increase).
 */
export function initChainMetrics(m: EvmMetrics, chain: ResolvedChain, endpoints: readonly string[]): void {
  const c = { chain: chain.name };
  m.blocks.inc(c, 0);
  m.reorgs.inc(c, 0);
  m.resets.inc(c, 0);
  m.confirmationDepth.set(c, chain.confirmations);
  const methods = ['eth_chainId', 'eth_blockNumber', 'eth_getBlockByNumber'];
  if (chain.watched.size > 0) {
    methods.push('eth_getTransactionReceipt');
  }
  if (chain.contracts.length > 0) {
    methods.push('eth_getLogs');
  }
  if (chain.rpcUrls.some((u) => /^wss?:/.test(u))) {
    methods.push('eth_subscribe');
  }
  for (const method of methods) {
    m.rpcRequests.inc({ ...c, method }, 0);
    m.rpcErrors.inc({ ...c, method }, 0);
  }
  for (const k of chain.contracts) {
    for (const e of new Set([...k.events.values()].map((x) => x.name))) {
      m.events.inc({ ...c, contract: k.name, event: e }, 0);
    }
  }
  endpoints.forEach((endpoint, i) => m.endpointActive.set({ ...c, endpoint }, i === 0 ? 1 : 0));
}
