/**
 * The EVM source as ownership runs it (docs/evm.md, "Ownership"; docs/scaling.md): started and
 * stopped through its context's signal, possibly on two instances at once for a moment. The
 * source runs in this process, against a real hardhat chain; its context publishes to and reads
 * from a real collector over HTTP, so the store's publish-id deduplication is the real one.
 *
 * - Publish ids: a follower restarted from an older progress point (a new lease holder that read
 *   the log before the old holder's last publishes) and two followers running at once both leave
 *   every block and transaction stored once.
 * - Stop: once the signal aborts, nothing more is published and the source's RPC connections are
 *   closed, counted from the RPC side (a TCP proxy in front of the chain).
 */
import type { PublishItem, PublishResult } from '@streamgauge/protocol';
import { Registry } from 'prom-client';
import type { ReadOptions, ReadResult } from '../../src/log/event-log';
import { createLogger } from '../../src/logger';
import { evmChannelDefinitions } from '../../src/sources/evm/channels';
import { createEvmSource } from '../../src/sources/evm/evm-source';
import type { SourceContext } from '../../src/sources/source';
import { type CollectorProcess, freePort, startCollector } from '../helpers/collector-process';
import { ACCOUNTS } from './evm-test-utils';
import { type HardhatNode, startHardhat } from './hardhat-node';
import { createTcpProxy, type TcpProxy } from './tcp-proxy';

// Deadlines only bound hangs (hardhat start-up, a stuck follower).

const BLOCKS = 'evm/dev/blocks';
const TXS = 'evm/dev/transactions';
const STATUS = 'evm/dev/status';

let chain: HardhatNode;
let collector: CollectorProcess;
let proxy: TcpProxy | undefined;
const stops: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  chain = await startHardhat();
  collector = await startCollector({
    config: { channels: { definitions: evmChannelDefinitions({ name: 'dev', chainId: 31337, contracts: [] }) } },
  });
});

afterAll(async () => {
  for (const s of stops) {
    await s();
  }
  await proxy?.stop();
  await collector?.stop();
  collector?.cleanup();
  await chain?.stop();
});

interface Recorded {
  ctx: SourceContext;
  abort: AbortController;
  /** Every publish call: its items, acks, and whether the signal was aborted when it was made. */
  calls: { items: PublishItem[]; results: PublishResult[]; afterAbort: boolean }[];
}

/**
 * A SourceContext on the collector's REST API. `hideNewestBlocks` makes the blocks channel look
 * that many blocks shorter to the source's read-back: the view of an instance that read the log
 * just before the previous holder's last publishes.
 */
function httpContext(hideNewestBlocks = 0): Recorded {
  const abort = new AbortController();
  const calls: Recorded['calls'] = [];
  const ctx: SourceContext = {
    async declare() {
      // Declared by the collector's config (channels.definitions).
    },
    async publish(items) {
      const afterAbort = abort.signal.aborted;
      const r = await fetch(`${collector.url}/api/v1/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: items }),
      });
      if (r.status !== 200) {
        throw new Error(`publish: ${r.status} ${await r.text()}`);
      }
      const results = ((await r.json()) as { offsets: PublishResult[] }).offsets;
      calls.push({ items, results, afterAbort });
      return results;
    },
    async read(channel: string, options: ReadOptions): Promise<ReadResult> {
      const hide = channel === BLOCKS ? hideNewestBlocks : 0;
      const all = await history(channel);
      const kept = all.slice(0, all.length - hide);
      const limit = options.limit ?? 1000;
      const messages = (options.tail ? kept.slice(-limit) : kept.slice(0, limit)).map((m) => ({
        channel,
        offset: m.offset,
        ts: m.ts,
        data: JSON.stringify(m.data),
        item: JSON.stringify(m),
      }));
      return { messages, more: false };
    },
    async resetEpoch() {
      throw new Error('not expected: the chain is not reset in this test');
    },
    maxBatch: 100,
    logger: createLogger('silent'),
    metrics: new Registry(),
    signal: abort.signal,
  };
  return { ctx, abort, calls };
}

async function history(channel: string): Promise<{ offset: number; ts: number; data: any }[]> {
  const r = await fetch(`${collector.url}/api/v1/messages?channel=${encodeURIComponent(channel)}&limit=10000`);
  if (r.status === 404) {
    return [];
  }
  return ((await r.json()) as { messages: { offset: number; ts: number; data: any }[] }).messages;
}

async function startSource(rec: Recorded, rpcUrl: string): Promise<() => Promise<void> | void> {
  const source = createEvmSource(
    { name: 'dev', chainId: 31337, rpcUrls: [rpcUrl], confirmations: 4, startBlock: 0, pollIntervalMs: 100, watchAddresses: [ACCOUNTS[1]] },
    0,
  );
  const stop = await source.start(rec.ctx);
  stops.push(stop);
  return stop;
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the blocks channel holds block `n`. */
function blockStored(n: number): Promise<true> {
  return until(`block ${n} stored`, async () => ((await history(BLOCKS)).some((m) => m.data.number === n) ? true : undefined));
}

/** A transfer to the watched address (hardhat mines it in its own block). */
async function transfer(): Promise<string> {
  return chain.rpc<string>('eth_sendTransaction', [{ from: ACCOUNTS[0], to: ACCOUNTS[1], value: '0x1' }]);
}

/** Timers alive in this process. */
function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

async function head(): Promise<number> {
  return parseInt(await chain.rpc<string>('eth_blockNumber'), 16);
}

test('behavior: a follower restarted from an older progress point, and two followers at once, store every block and transaction once', async () => {
  await transfer(); // block 1
  await chain.rpc('evm_mine'); // block 2
  await transfer(); // block 3
  await chain.rpc('evm_mine'); // block 4

  // The first holder publishes blocks 0-4, then loses its lease.
  const first = httpContext();
  const stopFirst = await startSource(first, chain.httpUrl);
  await blockStored(4);
  first.abort.abort();
  await stopFirst();

  // The next holder read the log before the first one's last three blocks were stored: it
  // publishes blocks 2-4 again (and block 3's transaction), which the store answers as duplicates.
  const second = httpContext(3);
  const stopSecond = await startSource(second, chain.httpUrl);
  // Meanwhile a third instance runs the same chain at once (an overlap at handover).
  const third = httpContext();
  const stopThird = await startSource(third, chain.httpUrl);
  await transfer(); // block 5
  await chain.rpc('evm_mine'); // block 6
  const tip = await head();
  await blockStored(tip);
  // Both followers have been through the tip before they are stopped.
  for (const rec of [second, third]) {
    await until('each follower past the tip', () =>
      rec.calls.some((c) => c.items.some((i) => i.channel === BLOCKS && i.data.number === tip)) ? true : undefined,
    );
  }
  second.abort.abort();
  third.abort.abort();
  await stopSecond();
  await stopThird();

  // Redone by the second holder, answered as duplicates: blocks 2, 3 and 4, and 3's transaction.
  const redone = second.calls.flatMap((c) => c.items.map((item, i) => ({ item, result: c.results[i] })));
  const dupBlocks = redone.filter((x) => x.item.channel === BLOCKS && x.result.duplicate).map((x) => x.item.data.number);
  expect(dupBlocks).toEqual(expect.arrayContaining([2, 3, 4]));
  expect(redone.some((x) => x.item.channel === TXS && x.item.data.blockNumber === 3 && x.result.duplicate)).toBe(true);

  const blocks = await history(BLOCKS);
  expect(blocks.map((m) => m.data.number)).toEqual(Array.from({ length: tip + 1 }, (_, i) => i));
  expect(blocks.map((m) => m.offset)).toEqual(Array.from({ length: tip + 1 }, (_, i) => i + 1));
  expect(new Set(blocks.map((m) => m.data.hash)).size).toBe(blocks.length);
  const txs = await history(TXS);
  expect(txs.map((m) => m.data.blockNumber)).toEqual([1, 3, 5]);
  // Every item carried an id.
  for (const rec of [first, second, third]) {
    for (const c of rec.calls) {
      for (const item of c.items) {
        if (item.channel !== STATUS) {
          expect(item.id).toMatch(/^(block|tx|log|reorg):/);
        }
      }
    }
  }
});

test('behavior: after the signal aborts (lease lost) nothing more is published and the RPC connections are closed', async () => {
  proxy = createTcpProxy(await freePort(), chain.port);
  await proxy.start();
  const start = await head();
  const timersBefore = timers();
  // The stopped follower, over a WebSocket through the proxy (heads by subscription).
  const owned = httpContext();
  const stopOwned = await startSource(owned, `ws://127.0.0.1:${proxy.port}`);
  await until('the follower subscribed and at the head', () =>
    owned.calls.some((c) => c.items.some((i) => i.channel === STATUS && i.data.subscribed === true && i.data.head === start))
      ? true
      : undefined,
  );
  expect(proxy.connections).toBeGreaterThan(0);

  owned.abort.abort(); // the lease is lost: the source stops by itself
  const t0 = performance.now();
  await stopOwned(); // what ownership awaits: the same stop, now or already under way
  const stopMs = performance.now() - t0;
  // Every socket of viem's closed, as the RPC side sees it.
  await until('the RPC connections closed', () => (proxy!.connections === 0 ? true : undefined));
  // Its poll timer is gone too. Waited for rather than read once: this process's other timers (the
  // test's fetch calls, the TCP proxy, libraries' own) come and go by themselves, and a single look
  // failed once in a clean-clone CI run (2 timers against 1 before; which one was not found out). A
  // timer the source leaked (viem's poll, re-armed every interval) never goes, and the wait runs out.
  await until('no more timers than before the follower started', () => (timers() <= timersBefore ? true : undefined));

  // A second follower (a new holder) keeps going: once it stored the new blocks, the stopped one
  // would have had every chance to publish them.
  const next = httpContext();
  const stopNext = await startSource(next, chain.httpUrl);
  await transfer();
  await chain.rpc('evm_mine');
  await transfer();
  const tip = await head();
  await until('the new holder at the tip', () =>
    next.calls.some((c) => c.items.some((i) => i.channel === BLOCKS && i.data.number === tip)) ? true : undefined,
  );
  next.abort.abort();
  await stopNext();

  expect(owned.calls.filter((c) => c.afterAbort)).toEqual([]);
  expect(owned.calls.flatMap((c) => c.items).some((i) => i.channel === BLOCKS && (i.data.number as number) > start)).toBe(false);
  expect(proxy.connections).toBe(0);
  // Reported, not asserted (tests never assert speed).
  process.stdout.write(`evm source stop after abort: ${stopMs.toFixed(0)} ms\n`);
});

test('behavior: a block published again after a reorg and a reorg back (A, B, A) is stored again, each reorg once', async () => {
  const rec = httpContext();
  const stop = await startSource(rec, chain.httpUrl);
  const h = await head();
  await blockStored(h);
  const ts = parseInt((await chain.rpc<{ timestamp: string }>('eth_getBlockByNumber', [`0x${h.toString(16)}`, false])).timestamp, 16);
  const hashAt = async (n: number): Promise<string> =>
    (await chain.rpc<{ hash: string }>('eth_getBlockByNumber', [`0x${n.toString(16)}`, false])).hash;
  const stored = (hash: string, count: number): Promise<true> =>
    until(`${hash} stored ${count} time(s)`, async () =>
      (await history(BLOCKS)).filter((m) => m.data.hash === hash).length === count ? true : undefined,
    );

  // Block h+1 of branch A, then B in its place, then A again: a block of the same timestamp on
  // the same parent is the same block (hardhat mines deterministically), so A's hash comes back.
  const snapA = await chain.rpc<string>('evm_snapshot');
  await chain.rpc('evm_mine', [ts + 10]);
  const a = await hashAt(h + 1);
  await stored(a, 1);
  await chain.rpc('evm_revert', [snapA]);
  const snapB = await chain.rpc<string>('evm_snapshot');
  await chain.rpc('evm_mine', [ts + 20]);
  const b = await hashAt(h + 1);
  await stored(b, 1);
  await chain.rpc('evm_revert', [snapB]);
  await chain.rpc('evm_mine', [ts + 10]);
  expect(await hashAt(h + 1)).toBe(a);
  await stored(a, 2);
  rec.abort.abort();
  await stop();

  const tail = (await history(BLOCKS)).filter((m) => m.data.number > h).map((m) => m.data.hash);
  expect(tail).toEqual([a, b, a]);
  const reorgs = (await history('evm/dev/reorgs')).map((m) => m.data);
  expect(reorgs.map((r) => [r.oldHead, r.newHead])).toEqual([
    [a, b],
    [b, a],
  ]);
  // The second A carries the sequence of the reorg before it: another id than the first.
  const ids = rec.calls
    .flatMap((c) => c.items)
    .filter((i) => i.channel === BLOCKS && i.data.hash === a)
    .map((i) => i.id);
  expect(new Set(ids).size).toBe(2);
});
