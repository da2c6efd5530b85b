/**
 * Faults against a real chain: a dead RPC URL listed first, the RPC going away mid-stream (a TCP
 * proxy in front of hardhat is stopped and started again while the chain keeps mining), and a
 * collector restart. Each ends with every block on the blocks channel exactly once, in order.
 */
import { type CollectorProcess, freePort, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { dataOf, metric, waitForData } from './evm-test-utils';
import { type HardhatNode, startHardhat } from './hardhat-node';
import { type FaultyRpc, startFaultyRpc } from './faulty-rpc';
import { createTcpProxy, type TcpProxy } from './tcp-proxy';

// Outages last a few retries each; the deadline only bounds a hang.
jest.setTimeout(60_000);

const BLOCKS = 'evm/flaky/blocks';
const STATUS = 'evm/flaky/status';

let chain: HardhatNode;
let proxy: TcpProxy;
let deadPort: number;
let first: CollectorProcess | undefined;
let collector: CollectorProcess | undefined;
let client: WsTestClient | undefined;
let config: Record<string, unknown>;

async function mine(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await chain.rpc('evm_mine');
  }
}

async function head(): Promise<number> {
  return Number(await chain.rpc<string>('eth_blockNumber'));
}

beforeAll(async () => {
  chain = await startHardhat();
  proxy = createTcpProxy(await freePort(), chain.port);
  await proxy.start();
  deadPort = await freePort(); // nothing listens there
  config = {
    evm: {
      chains: [
        {
          name: 'flaky',
          chainId: 31337,
          rpcUrls: [`http://127.0.0.1:${deadPort}`, `http://127.0.0.1:${proxy.port}`],
          confirmations: 4,
          startBlock: 0,
          pollIntervalMs: 100,
          requestTimeoutMs: 2_000,
        },
        // Configured for mainnet but pointed at the dev chain: the endpoint must never be used.
        { name: 'wrongid', chainId: 1, rpcUrls: [chain.httpUrl], startBlock: 0, pollIntervalMs: 100 },
      ],
    },
  };
  first = collector = await startCollector({ config });
  client = await WsTestClient.connect(collector.wsUrl);
  await client.subscribe(BLOCKS, { last: 1000 });
  await client.subscribe(STATUS);
  await client.subscribe('evm/flaky/reorgs', { last: 1000 });
});

afterAll(async () => {
  client?.close();
  await collector?.stop();
  if (first !== collector) {
    await first?.stop();
  }
  first?.cleanup();
  await proxy?.stop();
  await chain?.stop();
});

test('behavior: a dead first RPC URL fails over to the live one and the chain is followed from block 0', async () => {
  await mine(3);
  await waitForData(client!, BLOCKS, (b) => b.number === 3);
  expect(dataOf(client!, BLOCKS).map((b) => b.number)).toEqual([0, 1, 2, 3]);
  const base = collector!.url;
  expect(await metric(base, 'streamgauge_evm_rpc_endpoint_active', { chain: 'flaky', endpoint: `127.0.0.1:${deadPort}` })).toBe(0);
  expect(await metric(base, 'streamgauge_evm_rpc_endpoint_active', { chain: 'flaky', endpoint: `127.0.0.1:${proxy.port}` })).toBe(1);
  // The dead URL failed its chain-id check; it is skipped for a while instead of being tried on every request.
  expect(await metric(base, 'streamgauge_evm_rpc_errors_total', { chain: 'flaky', method: 'eth_chainId' })).toBeGreaterThanOrEqual(1);
  expect(await metric(base, 'streamgauge_evm_rpc_errors_total', { chain: 'flaky', method: 'eth_getBlockByNumber' })).toBe(0);
  expect(await metric(base, 'streamgauge_evm_source_up', { chain: 'flaky' })).toBe(1);
  const status = await waitForData(client!, STATUS, (s) => s.state === 'following');
  expect(status).toMatchObject({ chain: 'flaky', endpoint: `127.0.0.1:${proxy.port}`, subscribed: false });
});

test('behavior: an endpoint serving another chain id is never used: the chain stays down with the reason', async () => {
  const c = await WsTestClient.connect(collector!.wsUrl);
  try {
    await c.subscribe('evm/wrongid/blocks', { last: 1000 });
    await c.subscribe('evm/wrongid/status');
    const down = await waitForData(c, 'evm/wrongid/status', (s) => s.state === 'down');
    expect(down).toEqual({
      chain: 'wrongid',
      state: 'down',
      endpoint: `127.0.0.1:${chain.port}`,
      head: null,
      detail: `all 1 RPC endpoints failed; last: 127.0.0.1:${chain.port} eth_chainId: serves chain id 31337, not 1`,
      subscribed: false,
      genesis: null,
    });
    expect(dataOf(c, 'evm/wrongid/blocks')).toEqual([]);
    expect(await metric(collector!.url, 'streamgauge_evm_source_up', { chain: 'wrongid' })).toBe(0);
    expect(await metric(collector!.url, 'streamgauge_evm_head_block', { chain: 'wrongid' })).toBeUndefined();
  } finally {
    c.close();
  }
});

test('behavior: the RPC going down mid-stream shows state down, and on its return the missed blocks are backfilled exactly once', async () => {
  const seen = dataOf(client!, STATUS).length;
  await proxy.stop();
  await mine(4); // blocks 4-7, mined while the collector cannot see the chain
  const down = await waitForData(client!, STATUS, (s) => s.state === 'down' && dataOf(client!, STATUS).indexOf(s) >= seen);
  expect(down.detail).toMatch(/^all 2 RPC endpoints failed; last: /);
  expect(await metric(collector!.url, 'streamgauge_evm_source_up', { chain: 'flaky' })).toBe(0);
  expect(dataOf(client!, BLOCKS).map((b) => b.number)).toEqual([0, 1, 2, 3]);

  await proxy.start();
  await mine(1); // block 8
  await waitForData(client!, BLOCKS, (b) => b.number === 8);
  await waitForData(
    client!,
    STATUS,
    (s) => s.state === 'following' && dataOf(client!, STATUS).indexOf(s) > dataOf(client!, STATUS).indexOf(down),
  );
  expect(dataOf(client!, BLOCKS).map((b) => b.number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  expect(client!.gapsAndDuplicates(BLOCKS)).toEqual({ gaps: 0, duplicates: 0 });
  const blocks = dataOf(client!, BLOCKS);
  expect(blocks.slice(1).every((b, i) => b.parentHash === blocks[i].hash)).toBe(true);
  expect(await metric(collector!.url, 'streamgauge_evm_source_up', { chain: 'flaky' })).toBe(1);
});

test('behavior: a restarted collector continues after the last block it published, with no gap and no repeat', async () => {
  const before = await head();
  client!.close();
  await collector!.stop();
  await mine(3); // mined while the collector is stopped
  collector = await startCollector({ config, dataDir: first!.dataDir, port: first!.port });
  client = await WsTestClient.connect(collector.wsUrl);
  await client.subscribe(BLOCKS, { last: 1000 });
  await client.subscribe('evm/flaky/reorgs', { last: 1000 });
  await mine(1);
  const last = before + 4;
  await waitForData(client, BLOCKS, (b) => b.number === last);
  await new Promise((r) => setTimeout(r, 300));
  const numbers = dataOf(client, BLOCKS).map((b) => b.number);
  expect(numbers).toEqual(Array.from({ length: last + 1 }, (_, i) => i));
  expect(client.gapsAndDuplicates(BLOCKS)).toEqual({ gaps: 0, duplicates: 0 });
  const blocks = dataOf(client, BLOCKS);
  for (const b of blocks) {
    expect(b.hash).toBe((await chain.rpc<any>('eth_getBlockByNumber', [`0x${b.number.toString(16)}`, false])).hash);
  }
});

test('behavior: a head that only moves back is not a reorg (a lagging backend looks the same); the competing block that follows is', async () => {
  const snapshot = await chain.rpc<string>('evm_snapshot');
  const ancestor = await head();
  await mine(2);
  await waitForData(client!, BLOCKS, (b) => b.number === ancestor + 2);
  const orphaned = dataOf(client!, BLOCKS).slice(-2);
  const blocksBefore = dataOf(client!, BLOCKS).length;
  await chain.rpc('evm_revert', [snapshot]);
  await new Promise((r) => setTimeout(r, 600)); // several polls (pollIntervalMs 100) see the lower head
  expect(dataOf(client!, 'evm/flaky/reorgs')).toEqual([]);
  expect(dataOf(client!, BLOCKS)).toHaveLength(blocksBefore);

  const ts = Number((await chain.rpc<any>('eth_getBlockByNumber', ['latest', false])).timestamp);
  await chain.rpc('evm_mine', [ts + 600]); // a competing block at ancestor + 1
  const reorg = await waitForData(client!, 'evm/flaky/reorgs', () => true);
  const ancestorHash = (await chain.rpc<any>('eth_getBlockByNumber', [`0x${ancestor.toString(16)}`, false])).hash;
  const newHead = (await chain.rpc<any>('eth_getBlockByNumber', ['latest', false])).hash;
  expect(reorg).toEqual({
    depth: 2,
    oldHead: orphaned[1].hash,
    oldHeadNumber: ancestor + 2,
    newHead,
    newHeadNumber: ancestor + 1,
    orphaned: [ancestor + 1, ancestor + 2],
    orphanedHashes: orphaned.map((b) => b.hash),
    commonAncestor: ancestor,
    commonAncestorHash: ancestorHash,
    beyondConfirmations: false,
  });
  await waitForData(client!, BLOCKS, (b) => b.hash === newHead);
  const blocks = dataOf(client!, BLOCKS).slice(blocksBefore - 2);
  expect(blocks.map((b) => [b.number, b.hash])).toEqual([
    [ancestor + 1, orphaned[0].hash],
    [ancestor + 2, orphaned[1].hash],
    [ancestor + 1, newHead],
  ]);
  expect(blocks[2].parentHash).toBe(ancestorHash);
});

describe('following over a WebSocket RPC', () => {
  let wsProxy: TcpProxy;
  let wsCollector: CollectorProcess | undefined;
  let wsClient: WsTestClient | undefined;

  afterAll(async () => {
    wsClient?.close();
    await wsCollector?.stop();
    wsCollector?.cleanup();
    await wsProxy?.stop();
  });

  test('behavior: the WebSocket RPC dropping mid-stream ends the subscription; on its return the source resubscribes and backfills exactly once', async () => {
    wsProxy = createTcpProxy(await freePort(), chain.port);
    await wsProxy.start();
    const start = await head();
    wsCollector = await startCollector({
      config: {
        evm: {
          chains: [
            {
              name: 'flakyws',
              chainId: 31337,
              rpcUrls: [`ws://127.0.0.1:${wsProxy.port}`],
              confirmations: 4,
              startBlock: start,
              pollIntervalMs: 100,
              requestTimeoutMs: 2_000,
            },
          ],
        },
      },
    });
    wsClient = await WsTestClient.connect(wsCollector.wsUrl);
    await wsClient.subscribe('evm/flakyws/blocks', { last: 1000 });
    await wsClient.subscribe('evm/flakyws/status');
    await waitForData(wsClient, 'evm/flakyws/status', (s) => s.state === 'following' && s.subscribed === true);
    await mine(2);
    await waitForData(wsClient, 'evm/flakyws/blocks', (b) => b.number === start + 2);

    const seen = dataOf(wsClient, 'evm/flakyws/status').length;
    await wsProxy.stop();
    await mine(3);
    const down = await waitForData(
      wsClient,
      'evm/flakyws/status',
      (s) => s.state === 'down' && dataOf(wsClient!, 'evm/flakyws/status').indexOf(s) >= seen,
    );
    expect(down).toMatchObject({
      chain: 'flakyws',
      state: 'down',
      endpoint: `127.0.0.1:${wsProxy.port}`,
      head: start + 2,
      subscribed: false,
    });

    await wsProxy.start();
    await waitForData(wsClient, 'evm/flakyws/blocks', (b) => b.number === start + 5);
    const back = await waitForData(
      wsClient,
      'evm/flakyws/status',
      (s) =>
        s.state === 'following' &&
        s.subscribed === true &&
        dataOf(wsClient!, 'evm/flakyws/status').indexOf(s) > dataOf(wsClient!, 'evm/flakyws/status').indexOf(down),
    );
    expect(back.endpoint).toBe(`127.0.0.1:${wsProxy.port}`);
    await mine(1); // delivered by the new subscription
    await waitForData(wsClient, 'evm/flakyws/blocks', (b) => b.number === start + 6);
    expect(dataOf(wsClient, 'evm/flakyws/blocks').map((b) => b.number)).toEqual(Array.from({ length: 7 }, (_, i) => start + i));
    expect(wsClient.gapsAndDuplicates('evm/flakyws/blocks')).toEqual({ gaps: 0, duplicates: 0 });
    // Two subscriptions made: the first, and the one after the return (attempts while down fail).
    const subscribes = await metric(wsCollector.url, 'streamgauge_evm_rpc_requests_total', { chain: 'flakyws', method: 'eth_subscribe' });
    const failed = (await metric(wsCollector.url, 'streamgauge_evm_rpc_errors_total', { chain: 'flakyws', method: 'eth_subscribe' })) ?? 0;
    expect(subscribes! - failed).toBe(2);
  });
});

describe('an RPC that answers with errors', () => {
  let rpc: FaultyRpc | undefined;
  let errCollector: CollectorProcess | undefined;
  let errClient: WsTestClient | undefined;

  afterAll(async () => {
    errClient?.close();
    await errCollector?.stop();
    errCollector?.cleanup();
    await rpc?.stop();
  });

  test('behavior: persistent JSON-RPC errors turn the state degraded with the reason; when they stop, the missed blocks follow exactly once', async () => {
    rpc = await startFaultyRpc(chain.httpUrl);
    const start = await head();
    errCollector = await startCollector({
      config: {
        evm: { chains: [{ name: 'errs', chainId: 31337, rpcUrls: [rpc.url], startBlock: start, pollIntervalMs: 100 }] },
      },
    });
    errClient = await WsTestClient.connect(errCollector.wsUrl);
    await errClient.subscribe('evm/errs/blocks', { last: 1000 });
    await errClient.subscribe('evm/errs/status');
    await waitForData(errClient, 'evm/errs/status', (s) => s.state === 'following');

    rpc.failing.add('eth_getBlockByNumber');
    await mine(2);
    const degraded = await waitForData(errClient, 'evm/errs/status', (s) => s.state === 'degraded');
    expect(degraded).toEqual({
      chain: 'errs',
      state: 'degraded',
      endpoint: rpc.url.slice('http://'.length),
      head: start,
      detail: `${rpc.url.slice('http://'.length)} eth_getBlockByNumber: header not found (-32000)`,
      subscribed: false,
      genesis: expect.stringMatching(/^0x[0-9a-f]{64}$/),
    });
    expect(await metric(errCollector.url, 'streamgauge_evm_source_up', { chain: 'errs' })).toBe(0);
    expect(
      await metric(errCollector.url, 'streamgauge_evm_rpc_errors_total', { chain: 'errs', method: 'eth_getBlockByNumber' }),
    ).toBeGreaterThan(3);
    // An error answer is not an outage: the endpoint stays active.
    expect(
      await metric(errCollector.url, 'streamgauge_evm_rpc_endpoint_active', { chain: 'errs', endpoint: rpc.url.slice('http://'.length) }),
    ).toBe(1);

    rpc.failing.clear();
    await waitForData(errClient, 'evm/errs/blocks', (b) => b.number === start + 2);
    await waitForData(
      errClient,
      'evm/errs/status',
      (s) =>
        s.state === 'following' &&
        dataOf(errClient!, 'evm/errs/status').indexOf(s) > dataOf(errClient!, 'evm/errs/status').indexOf(degraded),
    );
    expect(dataOf(errClient, 'evm/errs/blocks').map((b) => b.number)).toEqual([start, start + 1, start + 2]);
    expect(errClient.gapsAndDuplicates('evm/errs/blocks')).toEqual({ gaps: 0, duplicates: 0 });
  });
});
