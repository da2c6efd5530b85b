/**
 * One source per configured chain (`evm.chains`, docs/evm.md): declares the chain's channels,
 * reads back where it left off, and runs a HeadFollower over an RpcPool. A chain whose config
 * cannot run (bad ABI, address) reports `down` on its status channel and in
 * streamgauge_evm_source_up, and fails to start without taking the collector down.
 */
import type { PublishItem } from '@streamgauge/protocol';
import type { Config, DeepReadonly } from '../../collector-config';
import { ConfigError } from '../../errors';
import type { Source, SourceContext } from '../source';
import { evmChannelDefinitions, evmChannelNames } from './channels';
import { type EvmChainConfig, resolveChain, type ResolvedChain } from './config';
import { evmMetrics, type SourceState } from './evm-metrics';
import { HeadFollower } from './head-follower';
import type { BlockMessage } from './map-block';
import { ReorgTracker } from './reorg-tracker';
import { readRecentBlocks } from './restore-progress';
import { RpcPool } from './rpc-pool';

export interface EvmSourceOptions {
  /** Called after each block is published (benchmarks). */
  onBlock?(block: BlockMessage): void;
}

export function createEvmSource(chainConfig: DeepReadonly<EvmChainConfig>, index: number, options: EvmSourceOptions = {}): Source {
  return {
    name: `evm/${chainConfig.name}`,
    async start(ctx: SourceContext) {
      // Adapted to the narrow SourceContext (HELPERS.md); the evm helper rewrites this source.
      const { logger } = ctx;
      const hub = { declare: ctx.declare, publish: ctx.publish };
      const names = evmChannelNames(chainConfig.name);
      const metrics = evmMetrics(ctx.metrics);
      const label = { chain: chainConfig.name };
      const live = { state: 'down' as SourceState, headTimestamp: undefined as number | undefined };
      metrics.live.set(chainConfig.name, live);
      let chain: ResolvedChain;
      try {
        chain = resolveChain(chainConfig, index);
      } catch (err) {
        const message = (err as Error).message;
        await hub.declare(
          evmChannelDefinitions({ name: chainConfig.name, chainId: chainConfig.chainId, contracts: [] }).find(
            (d) => d.name === names.status,
          )!,
        );
        await hub
          .publish([
            {
              channel: names.status,
              data: { chain: chainConfig.name, state: 'down', endpoint: null, head: null, detail: message, subscribed: false },
            },
          ])
          .catch(() => undefined);
        throw new ConfigError([message], `evm chain ${chainConfig.name}`);
      }
      for (const def of evmChannelDefinitions(chain)) {
        await hub.declare(def);
      }
      metrics.confirmationDepth.set(label, chain.confirmations);

      const maxBatch = ctx.maxBatch;
      const publish = async (items: PublishItem[]): Promise<void> => {
        for (let i = 0; i < items.length; i += maxBatch) {
          await hub.publish(items.slice(i, i + maxBatch));
        }
      };

      let follower: HeadFollower | undefined;
      // Unknown until the follower's first step: endpoint changes before it are not worth a status.
      let state: SourceState | undefined;
      let detail = '';
      let endpoint = '';
      const publishStatus = (): void => {
        hub
          .publish([
            {
              channel: names.status,
              data: { chain: chain.name, state, endpoint, head: follower?.head ?? null, detail, subscribed: pool.subscribed },
            },
          ])
          .catch((err: unknown) => logger.warn({ err, chain: chain.name }, 'evm: cannot publish status'));
      };

      const pool = new RpcPool({
        urls: chain.rpcUrls,
        chainId: chain.chainId,
        timeoutMs: chain.requestTimeoutMs,
        logger,
        hooks: {
          request(method, seconds, ok) {
            metrics.rpcRequests.inc({ chain: chain.name, method });
            metrics.rpcDuration.observe({ chain: chain.name, method }, seconds);
            if (!ok) {
              metrics.rpcErrors.inc({ chain: chain.name, method });
            }
          },
          active(active, labels) {
            for (const l of labels) {
              metrics.endpointActive.set({ chain: chain.name, endpoint: l }, l === active ? 1 : 0);
            }
            const changed = endpoint !== '' && endpoint !== active;
            endpoint = active;
            if (changed && state) {
              publishStatus();
            }
          },
        },
      });

      // A reorg can orphan at most the window; read back twice that, as reorg replacements repeat numbers.
      const window = new ReorgTracker(chain.confirmations).capacity;
      const restored = await readRecentBlocks(ctx.read, names.blocks, window * 2 + 8);
      if (restored.length) {
        logger.info({ chain: chain.name, block: restored[restored.length - 1].number }, 'evm: continuing after the last published block');
      }
      follower = new HeadFollower({
        chain,
        pool,
        channels: names,
        publish,
        metrics,
        logger,
        restored,
        onState(s, d) {
          state = s;
          detail = d;
          live.state = s;
          publishStatus();
        },
        onBlock: options.onBlock,
      });
      const stop = follower.start();
      return async () => {
        const stopped = stop(); // sets the stop flag at once
        pool.close(); // fails requests in flight, so the follower does not wait for their timeouts
        await stopped;
      };
    },
  };
}

/**
 * The chain sources, one per `evm.chains` entry. Their configuration (duplicate names, addresses,
 * ABIs) was checked when it was loaded (evmSection in ./config.ts: exit 78 on a problem).
 */
export function createEvmSources(config: Config): Source[] {
  return config.evm.chains.map((c, i) => createEvmSource(c, i));
}
