/**
 * The EVM source against a real chain: hardhat node on 127.0.0.1, a Badge contract compiled with
 * solc, a real collector process following the chain over WebSocket (eth_subscribe newHeads), and a
 * real WebSocket subscriber. Blocks are produced only by the test (automine per transaction,
 * hardhat_mine), so every assertion is exact.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, getAddress, http, type PublicClient, type WalletClient } from 'viem';
import { hardhat } from 'viem/chains';
import { type CollectorProcess, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { compileBadge } from './compile-badge';
import { ACCOUNTS, dataOf, metric, waitForData } from './evm-test-utils';
import { type HardhatNode, startHardhat } from './hardhat-node';

const BLOCKS = 'evm/local/blocks';
const TXS = 'evm/local/transactions';
const EVENTS = 'evm/local/events';
const REORGS = 'evm/local/reorgs';
const STATUS = 'evm/local/status';
const ZERO = '0x0000000000000000000000000000000000000000';

let chain: HardhatNode;
let collector: CollectorProcess | undefined;
let client: WsTestClient | undefined;
let wallet: WalletClient;
let pub: PublicClient;
let badge: `0x${string}`;
let deployHash: `0x${string}`;
let tmp: string;
const { abi, bytecode } = compileBadge();

async function send(
  from: string,
  to: `0x${string}`,
  fn: 'mint' | 'transfer' | null,
  args: unknown[] = [],
  value = 0n,
): Promise<`0x${string}`> {
  const hash = fn
    ? await wallet.writeContract({ address: to, abi, functionName: fn, args, account: from as `0x${string}`, chain: hardhat })
    : await wallet.sendTransaction({ to, value, account: from as `0x${string}`, chain: hardhat });
  await pub.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  return hash;
}

async function canonical(n: number): Promise<{ hash: string; parentHash: string; gasUsed: number; gasLimit: number; txCount: number }> {
  const b = await chain.rpc<any>('eth_getBlockByNumber', [`0x${n.toString(16)}`, false]);
  return {
    hash: b.hash,
    parentHash: b.parentHash,
    gasUsed: Number(b.gasUsed),
    gasLimit: Number(b.gasLimit),
    txCount: b.transactions.length,
  };
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'sg-evm-'));
  chain = await startHardhat();
  wallet = createWalletClient({ chain: hardhat, transport: http(chain.httpUrl) });
  pub = createPublicClient({ chain: hardhat, transport: http(chain.httpUrl) }) as PublicClient;
  deployHash = await wallet.deployContract({ abi, bytecode, account: ACCOUNTS[0], chain: hardhat });
  const receipt = await pub.waitForTransactionReceipt({ hash: deployHash, pollingInterval: 20 });
  badge = receipt.contractAddress!;
  const abiFile = join(tmp, 'Badge.abi.json');
  writeFileSync(abiFile, JSON.stringify({ contractName: 'Badge', abi }));
  collector = await startCollector({
    config: {
      evm: {
        chains: [
          {
            name: 'local',
            chainId: 31337,
            rpcUrls: [chain.wsUrl],
            confirmations: 6,
            startBlock: 0,
            pollIntervalMs: 200,
            contracts: [{ name: 'badge', address: badge, abiFile, events: ['Transfer'] }],
            watchAddresses: [getAddress(ACCOUNTS[2])],
          },
          // The same chain with a window of one confirmation: the depth-3 reorg below goes past it.
          { name: 'shallow', chainId: 31337, rpcUrls: [chain.wsUrl], confirmations: 1, startBlock: 0 },
        ],
      },
    },
  });
  client = await WsTestClient.connect(collector.wsUrl);
  for (const ch of [BLOCKS, TXS, EVENTS, REORGS, 'evm/shallow/blocks', 'evm/shallow/reorgs']) {
    const r = await client.subscribe(ch, { last: 1000 });
    expect(r.type).toBe('subscribed');
  }
});

afterAll(async () => {
  client?.close();
  await collector?.stop();
  collector?.cleanup();
  await chain?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('behavior: deploy, mint, transfer and a payment reach a WebSocket subscriber as exact blocks, transactions and decoded events', async () => {
  const mintHash = await send(ACCOUNTS[0], badge, 'mint', [ACCOUNTS[1]]); // block 2
  const transferHash = await send(ACCOUNTS[1], badge, 'transfer', [ACCOUNTS[2], 1n]); // block 3
  const payHash = await send(ACCOUNTS[3], ACCOUNTS[2] as `0x${string}`, null, [], 10n ** 18n); // block 4: to a watched address
  await send(ACCOUNTS[4], ACCOUNTS[5] as `0x${string}`, null, [], 5n); // block 5: touches nothing watched
  await waitForData(client!, BLOCKS, (b) => b.number === 5);
  await new Promise((r) => setTimeout(r, 300)); // nothing more may arrive

  const blocks = dataOf(client!, BLOCKS);
  expect(blocks.map((b) => b.number)).toEqual([0, 1, 2, 3, 4, 5]);
  for (const b of blocks) {
    const c = await canonical(b.number);
    expect(b).toMatchObject({ hash: c.hash, parentHash: c.parentHash, gasUsed: c.gasUsed, gasLimit: c.gasLimit, txCount: c.txCount });
    expect(b.gasUsedRatio).toBeCloseTo(c.gasUsed / c.gasLimit, 12);
    expect(typeof b.baseFeeGwei).toBe('number');
    expect(b.blockInterval === null).toBe(b.number === 0);
  }
  expect(blocks.map((b) => b.txCount)).toEqual([0, 1, 1, 1, 1, 1]);

  const txs = dataOf(client!, TXS);
  expect(txs.map((t) => [t.hash, t.blockNumber, t.from, t.to, t.contractAddress, t.value, t.status])).toEqual([
    [deployHash, 1, ACCOUNTS[0], null, badge.toLowerCase(), '0', 'success'],
    [mintHash, 2, ACCOUNTS[0], badge.toLowerCase(), null, '0', 'success'],
    [transferHash, 3, ACCOUNTS[1], badge.toLowerCase(), null, '0', 'success'],
    [payHash, 4, ACCOUNTS[3], ACCOUNTS[2], null, '1000000000000000000', 'success'],
  ]);
  expect(txs[3].valueEth).toBe(1);
  expect(txs.every((t) => t.gas > 0 && t.gasUsed > 0 && t.gasUsed <= t.gas)).toBe(true);

  const events = dataOf(client!, EVENTS);
  expect(events).toEqual([
    {
      contract: 'badge',
      event: 'Transfer',
      args: { from: ZERO, to: getAddress(ACCOUNTS[1]), tokenId: '1' },
      arg_from: ZERO,
      arg_to: getAddress(ACCOUNTS[1]),
      arg_tokenId: '1',
      blockNumber: 2,
      blockHash: blocks[2].hash,
      timestamp: blocks[2].timestamp,
      txHash: mintHash,
      logIndex: 0,
      address: badge.toLowerCase(),
    },
    {
      contract: 'badge',
      event: 'Transfer',
      args: { from: getAddress(ACCOUNTS[1]), to: getAddress(ACCOUNTS[2]), tokenId: '1' },
      arg_from: getAddress(ACCOUNTS[1]),
      arg_to: getAddress(ACCOUNTS[2]),
      arg_tokenId: '1',
      blockNumber: 3,
      blockHash: blocks[3].hash,
      timestamp: blocks[3].timestamp,
      txHash: transferHash,
      logIndex: 0,
      address: badge.toLowerCase(),
    },
  ]);
  expect(client!.gapsAndDuplicates(BLOCKS)).toEqual({ gaps: 0, duplicates: 0 });

  const base = collector!.url;
  expect(await metric(base, 'streamgauge_evm_head_block', { chain: 'local' })).toBe(5);
  expect(await metric(base, 'streamgauge_evm_blocks_total', { chain: 'local' })).toBe(6);
  expect(await metric(base, 'streamgauge_evm_events_total', { chain: 'local', contract: 'badge', event: 'Transfer' })).toBe(2);
  expect(await metric(base, 'streamgauge_evm_block_transactions', { chain: 'local' })).toBe(1);
  expect(await metric(base, 'streamgauge_evm_confirmation_depth', { chain: 'local' })).toBe(6);
  expect(await metric(base, 'streamgauge_evm_source_up', { chain: 'local' })).toBe(1);
  expect(await metric(base, 'streamgauge_evm_rpc_endpoint_active', { chain: 'local', endpoint: `127.0.0.1:${chain.port}` })).toBe(1);
  expect(await metric(base, 'streamgauge_evm_rpc_requests_total', { chain: 'local', method: 'eth_subscribe' })).toBe(1);
  expect(await metric(base, 'streamgauge_evm_rpc_requests_total', { chain: 'local', method: 'eth_getLogs' })).toBe(6);
  // Counters exist at 0 from the start, so the first reorg or error shows in increase().
  expect(await metric(base, 'streamgauge_evm_reorgs_total', { chain: 'local' })).toBe(0);
  expect(await metric(base, 'streamgauge_evm_chain_resets_total', { chain: 'local' })).toBe(0);
  expect(await metric(base, 'streamgauge_evm_rpc_errors_total', { chain: 'local', method: 'eth_getLogs' })).toBe(0);
  expect(await metric(base, 'streamgauge_evm_rpc_errors_total', { chain: 'local', method: 'eth_subscribe' })).toBe(0);
  const age = await metric(base, 'streamgauge_evm_head_age_seconds', { chain: 'local' });
  expect(age).toBeGreaterThanOrEqual(0);

  const status = await client!.subscribe(STATUS);
  expect(status.kind).toBe('state');
  const snap = await client!.waitFor((f) => f.type === 'messages' && f.channel === STATUS && f.snapshot === true);
  expect(snap.messages[0].data).toMatchObject({
    chain: 'local',
    state: 'following',
    endpoint: `127.0.0.1:${chain.port}`,
    subscribed: true,
  });
});

test('behavior: a reorg made with snapshot/revert yields one reorg message with its depth, then the canonical replacement blocks', async () => {
  const snapshot = await chain.rpc<string>('evm_snapshot');
  for (let i = 0; i < 3; i++) {
    await send(ACCOUNTS[0], badge, 'mint', [ACCOUNTS[3]]); // blocks 6, 7, 8 (to be orphaned)
  }
  await waitForData(client!, BLOCKS, (b) => b.number === 8);
  const old = dataOf(client!, BLOCKS).slice(6);
  expect(old.map((b) => b.number)).toEqual([6, 7, 8]);
  expect(dataOf(client!, EVENTS)).toHaveLength(5);

  expect(await chain.rpc('evm_revert', [snapshot])).toBe(true);
  // The new branch: four empty blocks 60 s apart in one call, so they differ from the orphaned ones.
  await chain.rpc('hardhat_mine', ['0x4', '0x3c']);
  await waitForData(client!, BLOCKS, (b) => b.number === 9);
  await new Promise((r) => setTimeout(r, 300));

  const ancestor = await canonical(5);
  const head = await canonical(9);
  expect(dataOf(client!, REORGS)).toEqual([
    {
      depth: 3,
      oldHead: old[2].hash,
      oldHeadNumber: 8,
      newHead: head.hash,
      newHeadNumber: 9,
      orphaned: [6, 7, 8],
      orphanedHashes: old.map((b) => b.hash),
      commonAncestor: 5,
      commonAncestorHash: ancestor.hash,
      beyondConfirmations: false,
    },
  ]);
  const blocks = dataOf(client!, BLOCKS);
  expect(blocks.map((b) => b.number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 6, 7, 8, 9]);
  // After the reorg, the published chain is exactly the node's canonical chain.
  const after = [...blocks.slice(0, 6), ...blocks.slice(9)];
  for (const b of after) {
    expect(b.hash).toBe((await canonical(b.number)).hash);
  }
  expect(after.slice(1).every((b, i) => b.parentHash === after[i].hash)).toBe(true);
  expect(blocks.slice(9).map((b) => b.txCount)).toEqual([0, 0, 0, 0]);
  expect(dataOf(client!, EVENTS)).toHaveLength(5); // orphaned events stay in the log; the reorg message says which blocks they belong to
  expect(await metric(collector!.url, 'streamgauge_evm_reorgs_total', { chain: 'local' })).toBe(1);
  expect(await metric(collector!.url, 'streamgauge_evm_reorg_last_depth', { chain: 'local' })).toBe(3);
  expect(await metric(collector!.url, 'streamgauge_evm_head_block', { chain: 'local' })).toBe(9);

  // With confirmations: 1 the window holds blocks 7-8 only: block 6 was taken as final, so the
  // reorg message says so, and reports only the orphaned blocks it could see.
  await waitForData(client!, 'evm/shallow/blocks', (b) => b.number === 9);
  expect(dataOf(client!, 'evm/shallow/reorgs')).toEqual([
    {
      depth: 2,
      oldHead: old[2].hash,
      oldHeadNumber: 8,
      newHead: head.hash,
      newHeadNumber: 9,
      orphaned: [7, 8],
      orphanedHashes: old.slice(1).map((b) => b.hash),
      commonAncestor: 6,
      commonAncestorHash: null,
      beyondConfirmations: true,
    },
  ]);
  expect(dataOf(client!, 'evm/shallow/blocks').map((b) => b.number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 7, 8, 9]);
});

test('behavior: a reverted call to a watched contract is published with status reverted and emits no event', async () => {
  const events = dataOf(client!, EVENTS).length;
  try {
    // Not the minter: reverts. An explicit gas limit skips estimation, so the transaction is mined.
    await wallet.writeContract({
      address: badge,
      abi,
      functionName: 'mint',
      args: [ACCOUNTS[4]],
      account: ACCOUNTS[1],
      chain: hardhat,
      gas: 200_000n,
    });
  } catch {
    // hardhat reports the revert as an error of eth_sendTransaction; the transaction is mined anyway.
  }
  const block = await chain.rpc<any>('eth_getBlockByNumber', ['latest', true]);
  expect(Number(block.number)).toBe(10);
  const hash = block.transactions[0].hash as string;
  const tx = await waitForData(client!, TXS, (t) => t.hash === hash);
  expect(tx).toMatchObject({ blockNumber: 10, from: ACCOUNTS[1], to: badge.toLowerCase(), status: 'reverted', gas: 200_000 });
  await waitForData(client!, BLOCKS, (b) => b.number === 10);
  await new Promise((r) => setTimeout(r, 200));
  expect(dataOf(client!, EVENTS)).toHaveLength(events);
});

test('behavior: a shorter new branch (the head falls behind the published tip) orphans the blocks above the ancestor', async () => {
  const snapshot = await chain.rpc<string>('evm_snapshot');
  for (let i = 0; i < 3; i++) {
    await send(ACCOUNTS[0], badge, 'mint', [ACCOUNTS[5]]); // blocks 11, 12, 13 (to be orphaned)
  }
  await waitForData(client!, BLOCKS, (b) => b.number === 13);
  const old = dataOf(client!, BLOCKS).slice(-3);
  expect(await chain.rpc('evm_revert', [snapshot])).toBe(true);
  const ts = Number((await chain.rpc<any>('eth_getBlockByNumber', ['0xa', false])).timestamp);
  await chain.rpc('evm_mine', [ts + 3600]); // block 11': one block, so the head (11) is below the published tip (13)
  const reorg = await waitForData(client!, REORGS, (r) => r.commonAncestor === 10);
  expect(reorg).toEqual({
    depth: 3,
    oldHead: old[2].hash,
    oldHeadNumber: 13,
    newHead: (await canonical(11)).hash,
    newHeadNumber: 11,
    orphaned: [11, 12, 13],
    orphanedHashes: old.map((b) => b.hash),
    commonAncestor: 10,
    commonAncestorHash: (await canonical(10)).hash,
    beyondConfirmations: false,
  });
  await waitForData(client!, BLOCKS, (b) => b.number === 11 && b.hash === reorg.newHead);
  await new Promise((r) => setTimeout(r, 200));
  expect(
    dataOf(client!, BLOCKS)
      .slice(-4)
      .map((b) => b.number),
  ).toEqual([11, 12, 13, 11]);
  expect(dataOf(client!, REORGS)).toHaveLength(2);
  expect(await metric(collector!.url, 'streamgauge_evm_reorg_last_depth', { chain: 'local' })).toBe(3);
});
