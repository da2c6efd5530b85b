/**
 * One source per configured chain (`evm.chains`, docs/evm.md): declares the chain's channels,
 * reads back where it left off (ctx.read), and runs a HeadFollower over the chain's viem client.
 * The configuration is checked whole before any source is created: a problem is a ConfigError,
 * and the collector exits 78 at startup.
 */
import type { PublishItem, PublishResult } from '@streamgauge/protocol';
import type { DeepReadonly } from '../../config/deep-types';
import { ConfigError } from '../../errors';
import type { Source, SourceContext } from '../source';
import { evmChannelDefinitions, evmChannelNames } from './channels';
import { type EvmChainConfig, type EvmConfig, evmConfigProblems, resolveChain } from './config';
import { evmMetrics, initChainMetrics, type SourceState } from './evm-metrics';
import { type ChainReset, HeadFollower } from './head-follower';
import { ReorgTracker, type TrackedBlock } from './reorg-tracker';
import { EvmError } from './errors';
import { ChainRpc } from './rpc-client';

export function createEvmSource(chainConfig: DeepReadonly<EvmChainConfig>, index: number): Source {
  // Throws on a config that cannot run; createEvmSources checked it already.
  const chain = resolveChain(chainConfig, index);
  return {
    name: `evm/${chain.name}`,
    async start(ctx: SourceContext) {
      const { logger } = ctx;
      const names = evmChannelNames(chain.name);
      const metrics = evmMetrics(ctx.metrics);
      const live = { state: 'down' as SourceState, headTimestamp: undefined as number | undefined };
      metrics.live.set(chain.name, live);
      for (const def of evmChannelDefinitions(chain)) {
        await ctx.declare(def);
      }

      // Every item carries a publish id (head-follower.ts): a batch retried after one of its
      // chunks failed stores the chunks that made it only once.
      const publish = async (items: PublishItem[]): Promise<PublishResult[]> => {
        const results: PublishResult[] = [];
        for (let i = 0; i < items.length; i += ctx.maxBatch) {
          if (ctx.signal.aborted) {
            throw new EvmError('EVM_STOPPED', 'the EVM source is stopping');
          }
          results.push(...(await ctx.publish(items.slice(i, i + ctx.maxBatch))));
        }
        return results;
      };

      let follower: HeadFollower | undefined;
      // Unknown until the follower's first step: endpoint changes before it are not worth a status.
      let state: SourceState | undefined;
      let detail = '';
      let endpoint = '';
      // Status messages go out one after the other (and a reset waits for them), in order.
      let statusQueue: Promise<void> = Promise.resolve();
      const publishStatus = (extra: Record<string, unknown> = {}): Promise<void> => {
        const data = {
          chain: chain.name,
          state,
          endpoint,
          head: follower?.head ?? null,
          detail,
          subscribed: follower?.subscribed ?? false,
          genesis: follower?.genesisHash ?? null,
          ...extra,
        };
        statusQueue = statusQueue
          // Not after the source stopped: with ownership another instance may hold the chain by
          // now, and a late state from here would overwrite its. Status messages carry no id: a
          // state that comes back (following, degraded, following) is a new fact, and a state
          // channel keeps the latest anyway.
          .then(() => (ctx.signal.aborted ? undefined : ctx.publish([{ channel: names.status, data }])))
          .then(
            () => undefined,
            (err: unknown) => logger.warn({ err, chain: chain.name }, 'evm: cannot publish status'),
          );
        return statusQueue;
      };

      const rpc = new ChainRpc({
        urls: chain.rpcUrls,
        chainId: chain.chainId,
        timeoutMs: chain.requestTimeoutMs,
        retryAfterMs: chain.pollIntervalMs,
        hooks: {
          request(method, seconds, ok) {
            metrics.rpcRequests.inc({ chain: chain.name, method });
            metrics.rpcDuration.observe({ chain: chain.name, method }, seconds);
            if (!ok) {
              metrics.rpcErrors.inc({ chain: chain.name, method });
            }
          },
          answered(label) {
            if (label === endpoint) {
              return;
            }
            for (const l of rpc.labels) {
              metrics.endpointActive.set({ chain: chain.name, endpoint: l }, l === label ? 1 : 0);
            }
            const changed = endpoint !== '';
            endpoint = label;
            if (changed && state) {
              void publishStatus();
            }
          },
        },
      });
      initChainMetrics(metrics, chain, rpc.labels);
      endpoint = rpc.labels[0];

      // A reorg can orphan at most the window; read back twice that, as reorg replacements repeat numbers.
      const window = new ReorgTracker(chain.confirmations).capacity;
      // The reorg sequence first, then the blocks: should another instance publish a reorg in
      // between (an overlap at handover), this instance re-publishes the blocks with an older
      // sequence, which are new hashes anyway, instead of missing that sequence (head-follower.ts).
      const reorgSeq = (await ctx.read(names.reorgs, { limit: 1, tail: true })).messages[0]?.offset ?? 0;
      const restored = await readRecentBlocks(ctx, names.blocks, window * 2 + 8);
      const lastStatus = (await ctx.read(names.status, { limit: 1, tail: true })).messages[0];
      const storedGenesis = lastStatus ? ((JSON.parse(lastStatus.data) as { genesis?: string | null }).genesis ?? null) : null;
      if (restored.length) {
        logger.info({ chain: chain.name, block: restored[restored.length - 1].number }, 'evm: continuing after the last published block');
      }

      const onReset = async (reset: ChainReset): Promise<void> => {
        await statusQueue;
        // Status last: once it holds the reset, the new genesis is stored even if a channel failed.
        for (const channel of [names.blocks, names.transactions, names.events, names.reorgs, names.status]) {
          await ctx.resetEpoch(channel);
        }
        await ctx.publish([
          {
            channel: names.status,
            // The status window was just emptied: this id only meets another instance's report of
            // the same reset (an overlap at handover).
            id: `reset:${reset.genesis}`,
            data: {
              chain: chain.name,
              state: 'reset',
              endpoint,
              head: null,
              detail: `chain reset: ${reset.detail}; its channels start a new epoch`,
              subscribed: follower?.subscribed ?? false,
              genesis: reset.genesis,
              previousGenesis: reset.previousGenesis,
            },
          },
        ]);
      };

      follower = new HeadFollower({
        chain,
        rpc,
        channels: names,
        publish,
        metrics,
        logger,
        restored,
        storedGenesis,
        reorgSeq,
        onState(s, d) {
          state = s;
          detail = d;
          live.state = s;
          void publishStatus();
        },
        onReset,
      });
      const stopFollower = follower.start();
      let stopping: Promise<void> | undefined;
      const stop = (): Promise<void> =>
        (stopping ??= (async () => {
          ctx.signal.removeEventListener('abort', onAbort);
          const stopped = stopFollower(); // sets the stop flag at once
          rpc.close(); // aborts requests in flight, so the follower does not wait for their timeouts
          await stopped;
          // Again: a subscription or a request that was opening a socket when the first close ran
          // may have put a new one in viem's cache.
          rpc.close();
          await statusQueue;
        })());
      const onAbort = (): void => void stop();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      return stop;
    },
  };
}

/** The last published blocks (oldest first), read back from the blocks channel. */
async function readRecentBlocks(ctx: SourceContext, channel: string, count: number): Promise<TrackedBlock[]> {
  const { messages } = await ctx.read(channel, { limit: count, tail: true });
  return messages.map((m) => {
    const d = JSON.parse(m.data) as { number: number; hash: string; parentHash: string; timestamp: number };
    return { number: d.number, hash: d.hash, parentHash: d.parentHash, timestamp: Math.floor(d.timestamp / 1000) };
  });
}

/**
 * The chain sources of the `evm` section. Throws ConfigError listing every problem the schema
 * cannot catch (duplicate names, checksums, ABI files, unknown events): the collector exits 78.
 */
export function createEvmSources(evm: DeepReadonly<EvmConfig>): Source[] {
  const problems = evmConfigProblems(evm);
  if (problems.length) {
    throw new ConfigError(problems, 'evm');
  }
  return evm.chains.map((c, i) => createEvmSource(c, i));
}
