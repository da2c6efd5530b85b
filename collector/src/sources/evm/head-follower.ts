/**
 * Follows one chain's head and publishes every canonical block exactly once, in order.
 *
 * Each step asks for the head number (woken by a newHeads subscription when an endpoint is a
 * WebSocket, polled otherwise) and fetches by number every block from the published tip + 1 up to
 * it, so blocks skipped by the notifications, by an outage or by a collector restart are filled in
 * order. A block whose parent is not the published tip, or a head whose hash differs from the one
 * published at its number, is a reorg: walk back through the tracked window to the common
 * ancestor, publish one reorg message and the replacement blocks in one batch.
 *
 * A chain that was reset (a dev chain restarted from a new genesis) is not a reorg: on start, after
 * every failed step (a reconnect) and before calling a reorg deeper than the window, the genesis
 * hash is compared with the one stored for the chain, and the block at the bottom of the window
 * with the one published. When either differs, `reset` starts a new epoch for the chain's channels
 * and the new chain is followed from `startBlock`.
 *
 * Nothing is published twice: the tracker moves only after publish resolved, and a failed step is
 * retried from the tracker's tip after `pollIntervalMs` (viem retries each request and fails over
 * between endpoints); the state (following / degraded / down) goes to the status channel and to
 * streamgauge_evm_source_up.
 *
 * Every block, transaction, event and reorg message carries a publish id (publishIds below), so a
 * publish that failed but was stored (a 503 from a hung Redis), a batch retried after one of its
 * chunks failed, or two instances overlapping at a lease handover, each store a fact once.
 */
import type { PublishItem, PublishResult } from '@streamgauge/protocol';
import { type Hash, hexToNumber, numberToHex, type RpcLog, type RpcTransactionReceipt } from 'viem';
import type { Logger } from '../../logger';
import type { EvmChannelNames } from './channels';
import type { ResolvedChain } from './config';
import { decodeEvent } from './decode-event';
import { EvmError } from './errors';
import type { EvmMetrics, SourceState } from './evm-metrics';
import { type BlockMessage, type ChainBlock, mapBlock } from './map-block';
import { candidateTransactions, mapTransaction, touchesWatched } from './map-transaction';
import { ReorgTracker, type TrackedBlock } from './reorg-tracker';
import { endpointErrorOf } from './endpoint-error';
import type { ChainRpc, HeadSubscription } from './rpc-client';

/**
 * With a live newHeads subscription, still ask for the head this often: a silent subscription (a
 * provider dropping notifications, or one lost in transit) must not stall the chain for long.
 */
export const SUBSCRIBED_POLL_MS = 5_000;
/** Consecutive steps that see the head below the reorg window before it counts as a reorg. */
export const BELOW_WINDOW_STEPS = 5;
/** Receipt requests in flight at once for one block (providers rate-limit bursts). */
export const RECEIPT_CONCURRENCY = 8;
/** Failed steps (other than every endpoint down) retried before the state turns `degraded`. */
export const DEGRADED_AFTER_ATTEMPTS = 3;

export interface ChainReset {
  /** The genesis stored for the chain, when known. */
  previousGenesis: string | null;
  genesis: string;
  /** Why: which hash differed. */
  detail: string;
}

export interface HeadFollowerOptions {
  chain: ResolvedChain;
  rpc: ChainRpc;
  channels: EvmChannelNames;
  /** Publishes one block's (or one reorg's) messages, chunked to the batch limit by the caller. */
  publish(items: PublishItem[]): Promise<PublishResult[]>;
  metrics: EvmMetrics;
  logger: Logger;
  /** Published blocks read back from the log at start, oldest first. */
  restored: TrackedBlock[];
  /** Genesis hash stored for the chain (last status message), if any. */
  storedGenesis: string | null;
  /** Offset of the last reorg message in the reorgs channel's epoch (0: none): the ids' reorg sequence. */
  reorgSeq: number;
  /** Called on every state change (status channel). */
  onState(state: SourceState, detail: string): void;
  /** Starts a new epoch for the chain's channels and publishes the reset; resolves once done. */
  onReset(reset: ChainReset): Promise<void>;
}

interface BlockItems {
  block: TrackedBlock;
  message: BlockMessage;
  items: PublishItem[];
  events: { contract: string; event: string }[];
}

export class HeadFollower {
  private readonly tracker: ReorgTracker;
  private stopped = false;
  private woken = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private state: SourceState | undefined;
  private heads: HeadSubscription | undefined;
  private belowWindow = 0;
  /** Compare genesis and the window's bottom block with the chain before the next step. */
  private checkReset = true;
  private genesis: string | null;
  /** See publishIds: moves only when a reorg message was stored, and restarts at 0 with an epoch. */
  private reorgSeq: number;
  private readonly label: { chain: string };

  constructor(private readonly o: HeadFollowerOptions) {
    this.tracker = new ReorgTracker(o.chain.confirmations);
    for (const b of o.restored) {
      this.tracker.restore(b);
    }
    this.genesis = o.storedGenesis;
    this.reorgSeq = o.reorgSeq;
    this.label = { chain: o.chain.name };
  }

  /** Last published block number, or null before the first. */
  get head(): number | null {
    return this.tracker.tip()?.number ?? null;
  }

  /** Genesis hash of the chain followed (stored, then as read from the chain). */
  get genesisHash(): string | null {
    return this.genesis;
  }

  /** true while heads come from a newHeads subscription. */
  get subscribed(): boolean {
    return this.heads !== undefined;
  }

  start(): () => Promise<void> {
    this.running = this.run();
    return async () => {
      this.stopped = true;
      this.wake?.();
      await this.running;
      this.dropHeads();
    };
  }

  private notify = (): void => {
    this.woken = true;
    this.wake?.();
  };

  private onHeadsLost = (): void => {
    this.heads = undefined;
    this.notify();
  };

  private dropHeads(): void {
    const h = this.heads;
    this.heads = undefined;
    h?.unsubscribe();
  }

  /** Subscribes to newHeads when an endpoint can and no subscription runs. */
  private async ensureHeads(): Promise<void> {
    if (!this.heads && this.o.rpc.canSubscribe && !this.stopped) {
      this.heads = await this.o.rpc.subscribeHeads(this.notify, this.onHeadsLost);
    }
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        const more = await this.step();
        attempt = 0;
        // Subscribe after a successful step: the endpoint is known to serve the chain by then.
        await this.ensureHeads();
        this.setState('following', '');
        if (more) {
          continue;
        }
      } catch (err) {
        if (this.stopped) {
          break;
        }
        attempt++;
        this.checkReset = true; // the next successful step is a reconnect
        const found = endpointErrorOf(err);
        // Every endpoint failing (network, timeout, wrong chain) is `down`; an error answer, a
        // chain that moved while read or a store that refused the batch is routine enough for a
        // few quick retries before calling the source degraded, so alerts do not flap on it.
        const down = found !== undefined && !found.answer;
        const detail = found
          ? found.answer
            ? found.shortMessage
            : `all ${this.o.rpc.labels.length} RPC endpoints failed; last: ${found.shortMessage}`
          : (err as Error).message;
        this.o.logger.warn({ chain: this.o.chain.name, attempt, err: detail }, 'evm: step failed; retrying');
        if (down || attempt > DEGRADED_AFTER_ATTEMPTS) {
          if (down) {
            this.dropHeads();
          }
          this.setState(down ? 'down' : 'degraded', detail);
        }
        await this.sleep(this.o.chain.pollIntervalMs, false);
        continue;
      }
      await this.sleep(this.heads ? SUBSCRIBED_POLL_MS : this.o.chain.pollIntervalMs, true);
    }
  }

  /** Sleeps until the timeout, stop, or (if `wakeable`) a new-head notification. */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopped || (wakeable && this.woken)) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.wake = undefined;
        this.woken = false;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = () => {
        if (this.stopped || wakeable) {
          done();
        }
      };
    });
  }

  private setState(state: SourceState, detail: string): void {
    const live = this.o.metrics.live.get(this.o.chain.name);
    if (live) {
      live.state = state;
    }
    const subscribed = this.subscribed;
    if (state !== this.state || subscribed !== this.lastSubscribed) {
      this.state = state;
      this.lastSubscribed = subscribed;
      this.o.onState(state, detail);
    }
  }

  private lastSubscribed = false;

  /** One pass: publish up to the current head. Returns true when more work is already known. */
  async step(): Promise<boolean> {
    if (this.checkReset) {
      await this.resetCheck();
      this.checkReset = false;
    }
    // Cleared before asking, not after: a notification that arrives while eth_blockNumber is in
    // flight (even in the same socket read as its reply) may be newer than the answer, and must
    // wake the next step.
    this.woken = false;
    const head = hexToNumber(await this.o.rpc.request<Hash>('eth_blockNumber'));
    let tip = this.tracker.tip();
    if (!tip) {
      const start = this.o.chain.startBlock === 'latest' ? head : this.o.chain.startBlock;
      if (start > head) {
        return false; // the chain has not reached startBlock yet
      }
      const first = await this.getBlock(start);
      await this.publishBlocks([await this.collect(first, undefined, this.reorgSeq)]);
      return start < head;
    }
    if (head <= tip.number) {
      // Nothing new by number, but the chain may have switched branches (same or shorter length).
      // The header is enough to compare; the full block is fetched only if it conflicts.
      const light = await this.getBlock(head, false);
      const known = this.tracker.at(head);
      if (!known && ++this.belowWindow < BELOW_WINDOW_STEPS) {
        // Below the window there is nothing to compare with: most likely a badly lagging backend.
        // Only a head that stays there is taken as a reorg (or a reset, if the genesis changed).
        return false;
      }
      this.belowWindow = 0;
      if (known && known.hash === light.hash) {
        // Same block: nothing changed. A head below the published tip with a matching block is a
        // lagging backend behind a load-balanced RPC, not a reorg: a chain is reorganised only by
        // a competing block, and that one shows up here as a hash mismatch, or as a new block whose
        // parent is not the tip.
        return false;
      }
      await this.reorg(await this.getBlock(head));
      return true;
    }
    this.belowWindow = 0;
    for (let n = tip.number + 1; n <= head && !this.stopped; n++) {
      const b = await this.getBlock(n);
      tip = this.tracker.tip()!;
      if (b.parentHash !== tip.hash) {
        await this.reorg(b);
        return true;
      }
      await this.publishBlocks([await this.collect(b, tip.timestamp, this.reorgSeq)]);
    }
    return false;
  }

  /**
   * Is this still the chain we published? Reads the genesis (block 0) and the block at the bottom
   * of the window: another genesis, or another block there (the whole window replaced), is a new
   * history: start over in a new epoch.
   */
  private async resetCheck(): Promise<void> {
    const genesis = (await this.getBlock(0, false)).hash;
    if (this.genesis !== null && this.genesis !== genesis) {
      await this.startOver({
        previousGenesis: this.genesis,
        genesis,
        detail: `the genesis block changed from ${this.genesis} to ${genesis}`,
      });
      return;
    }
    if (this.genesis === null) {
      // First seen (fresh log, or the status history expired): the next status message stores it.
      this.state = undefined;
    }
    this.genesis = genesis;
    const oldest = this.tracker.oldest();
    if (oldest && oldest.number > 0) {
      const now = await this.o.rpc.request<ChainBlock | null>('eth_getBlockByNumber', [numberToHex(oldest.number), false]);
      if (now && now.hash !== oldest.hash) {
        await this.startOver({
          previousGenesis: genesis,
          genesis,
          detail: `block ${oldest.number} has another hash (${now.hash}, published ${oldest.hash}), deeper than the confirmation window`,
        });
      }
    }
  }

  /** The chain was reset: a new epoch for every channel of the chain, then follow it from startBlock. */
  private async startOver(reset: ChainReset): Promise<void> {
    this.o.logger.warn({ chain: this.o.chain.name, ...reset }, 'evm: the chain was reset; its channels start a new epoch');
    await this.o.onReset(reset);
    this.tracker.truncateAfter(-1);
    this.reorgSeq = 0; // the reorgs channel starts over at offset 1 (and the id windows are empty)
    this.genesis = reset.genesis;
    this.belowWindow = 0;
    this.state = undefined; // the status channel starts over too: publish the state again
    this.o.metrics.resets.inc(this.label);
  }

  /** `full`: with transaction objects, needed to match watched addresses (default: when any are watched). */
  private async getBlock(n: number, full = this.o.chain.watched.size > 0): Promise<ChainBlock> {
    const b = await this.o.rpc.request<ChainBlock | null>('eth_getBlockByNumber', [numberToHex(n), full]);
    if (!b) {
      throw new EvmError('EVM_CHAIN_MOVED', `block ${n} vanished while reading (the head moved back)`);
    }
    return b;
  }

  /** `b` is canonical now and conflicts with what was published: find the ancestor, publish the reorg. */
  private async reorg(b: ChainBlock): Promise<void> {
    const oldTip = this.tracker.tip()!;
    const replacement: ChainBlock[] = [b];
    let ancestor: TrackedBlock | undefined;
    let parentHash = b.parentHash;
    let k = hexToNumber(b.number) - 1;
    const oldest = this.tracker.oldest()!.number;
    while (!ancestor && k >= oldest) {
      const mine = this.tracker.at(k);
      if (mine && mine.hash === parentHash) {
        ancestor = mine;
        break;
      }
      const p = await this.getBlock(k);
      if (p.hash !== parentHash) {
        throw new EvmError('EVM_CHAIN_MOVED', `block ${k} changed while resolving a reorg`);
      }
      replacement.unshift(p);
      parentHash = p.parentHash;
      k--;
    }
    const beyond = !ancestor;
    if (beyond) {
      // No common ancestor within the window: a reset chain (new genesis) is a new history, not a reorg.
      const genesis = (await this.getBlock(0, false)).hash;
      if (this.genesis !== null && genesis !== this.genesis) {
        await this.startOver({
          previousGenesis: this.genesis,
          genesis,
          detail: `the genesis block changed from ${this.genesis} to ${genesis}`,
        });
        return;
      }
    }
    let ancestorNumber = ancestor ? ancestor.number : oldest - 1;
    // Replacement blocks at or below the ancestor are already published.
    let fresh = replacement.filter((x) => hexToNumber(x.number) > ancestorNumber);
    if (beyond && fresh.length === 0) {
      // The head went below the whole window (a dev chain restarted from genesis): follow the new
      // chain from this head on.
      fresh = [b];
      ancestorNumber = hexToNumber(b.number) - 1;
    }
    if (beyond) {
      this.o.logger.error(
        { chain: this.o.chain.name, confirmations: this.o.chain.confirmations, oldest, from: ancestorNumber + 1 },
        'evm: reorg deeper than the confirmation window; the blocks below the window were taken as final',
      );
    }
    const orphanedBlocks = this.tracker.truncateAfter(ancestorNumber);
    const collected: BlockItems[] = [];
    // The reorg message is expected at the next offset of the reorgs channel; its blocks carry that
    // sequence already, since they are published with it.
    const seq = this.reorgSeq + 1;
    try {
      let parentTs = ancestor?.timestamp;
      for (const r of fresh) {
        const c = await this.collect(r, parentTs, seq);
        collected.push(c);
        parentTs = c.block.timestamp;
      }
    } catch (err) {
      // Put the window back: nothing was published, the step is retried.
      for (const o of orphanedBlocks) {
        this.tracker.restore(o);
      }
      throw err;
    }
    const newTip = collected.length ? collected[collected.length - 1].block : ancestor;
    const reorgMessage = {
      depth: orphanedBlocks.length,
      oldHead: oldTip.hash,
      oldHeadNumber: oldTip.number,
      newHead: newTip?.hash ?? null,
      newHeadNumber: newTip?.number ?? ancestorNumber,
      orphaned: orphanedBlocks.map((x) => x.number),
      orphanedHashes: orphanedBlocks.map((x) => x.hash),
      commonAncestor: ancestorNumber,
      commonAncestorHash: ancestor?.hash ?? null,
      beyondConfirmations: beyond,
    };
    try {
      const results = await this.publishBlocks(collected, {
        channel: this.o.channels.reorgs,
        id: publishIds.reorg(seq, reorgMessage.newHead, reorgMessage.newHeadNumber),
        data: reorgMessage,
      });
      // Where it was stored (or found, when a retry or another instance stored it first).
      this.reorgSeq = results[0].offset;
    } catch (err) {
      for (const o of orphanedBlocks) {
        this.tracker.restore(o);
      }
      throw err;
    }
    this.o.metrics.reorgs.inc(this.label);
    this.o.metrics.reorgLastDepth.set(this.label, orphanedBlocks.length);
    this.o.logger.warn({ chain: this.o.chain.name, ...reorgMessage, orphanedHashes: undefined }, 'evm: reorg');
  }

  /**
   * Fetches what the block's messages need (receipts of watched transactions, logs of watched
   * contracts). `seq`: the reorg sequence its ids carry.
   */
  private async collect(b: ChainBlock, parentTimestamp: number | undefined, seq: number): Promise<BlockItems> {
    const chain = this.o.chain;
    const message = mapBlock(b, parentTimestamp);
    const items: PublishItem[] = [];
    const events: { contract: string; event: string }[] = [];
    if (chain.watched.size > 0) {
      const candidates = candidateTransactions(b.transactions, chain.watched);
      const receipts = await mapLimit(candidates, RECEIPT_CONCURRENCY, (t) =>
        this.o.rpc.request<RpcTransactionReceipt | null>('eth_getTransactionReceipt', [t.hash]),
      );
      candidates.forEach((t, i) => {
        const r = receipts[i];
        if (!r) {
          throw new EvmError('EVM_CHAIN_MOVED', `receipt of ${t.hash} vanished while reading block ${message.number}`);
        }
        if (touchesWatched(t, r, chain.watched)) {
          items.push({
            channel: this.o.channels.transactions,
            id: publishIds.transaction(t.hash, seq),
            data: mapTransaction(t, r, message.number, message.timestamp),
          });
        }
      });
    }
    if (chain.contracts.length > 0) {
      // By block hash (EIP-234): the logs are those of exactly this block, even if the chain moves.
      const logs = await this.o.rpc.request<RpcLog[]>('eth_getLogs', [
        { blockHash: b.hash, address: chain.contracts.map((c) => c.address) },
      ]);
      const byAddress = new Map(chain.contracts.map((c) => [c.address, c]));
      for (const log of [...logs].sort((x, y) => hexToNumber(x.logIndex ?? '0x0') - hexToNumber(y.logIndex ?? '0x0'))) {
        const c = byAddress.get(log.address.toLowerCase());
        if (!c || log.removed) {
          continue;
        }
        try {
          const data = decodeEvent(c, log, message.timestamp);
          if (data) {
            items.push({ channel: this.o.channels.events, id: publishIds.event(b.hash, log.logIndex ?? '0x0', seq), data });
            events.push({ contract: c.name, event: data.event as string });
          }
        } catch (err) {
          // A log that does not match its ABI (e.g. a different indexed layout) is skipped, not fatal.
          this.o.logger.warn(
            { chain: chain.name, contract: c.name, tx: log.transactionHash, err: (err as Error).message },
            'evm: cannot decode log',
          );
        }
      }
    }
    items.unshift({ channel: this.o.channels.blocks, id: publishIds.block(b.hash, seq), data: message });
    return {
      block: { number: message.number, hash: message.hash, parentHash: message.parentHash, timestamp: hexToNumber(b.timestamp) },
      message,
      items,
      events,
    };
  }

  /**
   * Publishes (optionally a reorg message first, in the same batch), then moves the tracker and
   * metrics. Resolves with the acks, in item order.
   */
  private async publishBlocks(blocks: BlockItems[], reorg?: PublishItem): Promise<PublishResult[]> {
    if (this.stopped) {
      // A step that was past its last RPC request when the source stopped (the lease may be
      // another instance's by now): publish nothing more.
      throw new EvmError('EVM_STOPPED', 'the EVM source is stopping');
    }
    const items = [...(reorg ? [reorg] : []), ...blocks.flatMap((b) => b.items)];
    const results = items.length > 0 ? await this.o.publish(items) : [];
    const m = this.o.metrics;
    for (const b of blocks) {
      this.tracker.push(b.block);
      m.blocks.inc(this.label);
      m.headBlock.set(this.label, b.message.number);
      if (b.message.blockInterval !== null) {
        m.blockInterval.set(this.label, b.message.blockInterval);
      }
      m.gasUsedRatio.set(this.label, b.message.gasUsedRatio);
      if (b.message.baseFeeGwei !== null) {
        m.baseFee.set(this.label, b.message.baseFeeGwei);
      }
      m.blockTransactions.set(this.label, b.message.txCount);
      for (const e of b.events) {
        m.events.inc({ chain: this.label.chain, contract: e.contract, event: e.event });
      }
      const live = m.live.get(this.label.chain);
      if (live) {
        live.headTimestamp = b.block.timestamp;
      }
    }
    return results;
  }
}

/**
 * Publish ids: the same fact gets the same id on every instance and every retry, so the store
 * keeps it once (docs/evm.md, "Publish ids"). A hash alone is not enough: after a reorg and a reorg
 * back (A, then B, then A again) block A is published a second time, as a new fact that must be
 * stored. So every id carries the reorg sequence: the offset of the last reorg message in the
 * reorgs channel (0 before the first), which every instance reads back at start, and which a new
 * epoch (chain reset) restarts along with the id windows. Ids stay under 128 characters.
 */
export const publishIds = {
  block: (hash: string, seq: number): string => `block:${hash}:r${seq}`,
  transaction: (hash: string, seq: number): string => `tx:${hash}:r${seq}`,
  event: (blockHash: string, logIndex: string, seq: number): string => `log:${blockHash}:${hexToNumber(logIndex as Hash)}:r${seq}`,
  /** The reorg stored at offset `seq` of the reorgs channel, to this new head. */
  reorg: (seq: number, newHead: string | null, newHeadNumber: number): string => `reorg:r${seq}:${newHead ?? newHeadNumber}`,
};

/** `fn` over `items` with at most `limit` calls pending, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
