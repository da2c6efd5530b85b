/**
 * The chain's RPC process itself killed and started again on the same port. A hardhat node keeps
 * nothing across a restart, so it comes back as a new chain with a new genesis: a reset, not a
 * reorg. The source shows `down` while it is gone, then starts a new epoch on the chain's
 * channels, publishes `reset` on its status channel with the old and new genesis, and follows the
 * new chain from startBlock. The same holds when the chain is reset while the collector is stopped.
 */
import { type CollectorProcess, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { dataOf, metric, waitForData } from './evm-test-utils';
import { type HardhatNode, startHardhat } from './hardhat-node';

// A chain restart takes a few seconds of hardhat start-up; the deadline only bounds a hang.
jest.setTimeout(90_000);

const BLOCKS = 'evm/dev/blocks';
const REORGS = 'evm/dev/reorgs';
const STATUS = 'evm/dev/status';

let chain: HardhatNode | undefined;
let collector: CollectorProcess | undefined;
let client: WsTestClient | undefined;
let config: Record<string, unknown>;

afterAll(async () => {
  client?.close();
  await collector?.stop();
  collector?.cleanup();
  await chain?.stop();
});

async function mine(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await chain!.rpc('evm_mine');
  }
}

async function canonicalHash(n: number): Promise<string> {
  return (await chain!.rpc<{ hash: string }>('eth_getBlockByNumber', [`0x${n.toString(16)}`, false])).hash;
}

async function subscribeAll(c: WsTestClient): Promise<void> {
  await c.subscribe(BLOCKS, { last: 1000 });
  await c.subscribe(REORGS, { last: 1000 });
  await c.subscribe(STATUS, { last: 1000 });
}

/** The epoch `channel` is in, as the client was last told. */
function epochOf(c: WsTestClient, channel: string): string {
  return c.frames.filter((f) => f.type === 'subscribed' && f.channel === channel).pop()!.epoch;
}

/** The `subscribed` frame that announced a new epoch on `channel`, if one came. */
function epochChange(c: WsTestClient, channel: string): Record<string, any> | undefined {
  return c.frames.find((f) => f.type === 'subscribed' && f.channel === channel && f.reason === 'epoch_changed');
}

test('behavior: a dev chain restarted under a running collector is a new epoch with a reset status, no reorg, and its new blocks flow', async () => {
  chain = await startHardhat();
  const port = chain.port;
  config = {
    evm: {
      chains: [{ name: 'dev', chainId: 31337, rpcUrls: [chain.httpUrl], confirmations: 2, startBlock: 0, pollIntervalMs: 100 }],
    },
  };
  collector = await startCollector({ config });
  client = await WsTestClient.connect(collector.wsUrl);
  await subscribeAll(client);
  await mine(5);
  await waitForData(client, BLOCKS, (b) => b.number === 5);
  const before = dataOf(client, BLOCKS);
  expect(before.map((b) => b.number)).toEqual([0, 1, 2, 3, 4, 5]);
  const oldEpoch = client.frames.find((f) => f.type === 'subscribed' && f.channel === BLOCKS)!.epoch;

  await chain.stop();
  const down = await waitForData(client, STATUS, (s) => s.state === 'down');
  expect(down).toMatchObject({ chain: 'dev', endpoint: `127.0.0.1:${port}`, head: 5, genesis: before[0].hash });

  chain = await startHardhat(port);
  const genesis = await canonicalHash(0);
  expect(genesis).not.toBe(before[0].hash);

  const reset = await waitForData(client, STATUS, (s) => s.state === 'reset');
  expect(reset).toEqual({
    chain: 'dev',
    state: 'reset',
    endpoint: `127.0.0.1:${port}`,
    head: null,
    detail: `chain reset: the genesis block changed from ${before[0].hash} to ${genesis}; its channels start a new epoch`,
    subscribed: false,
    genesis,
    previousGenesis: before[0].hash,
  });
  const change = epochChange(client, BLOCKS);
  expect(change).toMatchObject({ recovered: false, reason: 'epoch_changed', offset: 0 });
  expect(change!.epoch).not.toBe(oldEpoch);

  await mine(3);
  await waitForData(client, BLOCKS, (b) => b.number === 3 && b.hash !== before[3].hash);
  const after = dataOf(client, BLOCKS).slice(before.length);
  expect(after.map((b) => b.number)).toEqual([0, 1, 2, 3]);
  for (const b of after) {
    expect(b.hash).toBe(await canonicalHash(b.number));
  }
  // The new epoch's offsets start at 1 again.
  expect((client.messages.get(BLOCKS) ?? []).slice(before.length).map((m) => m.offset)).toEqual([1, 2, 3, 4]);
  await waitForData(
    client,
    STATUS,
    (s) => s.state === 'following' && s.genesis === genesis && dataOf(client!, STATUS).indexOf(s) > dataOf(client!, STATUS).indexOf(reset),
  );
  expect(dataOf(client, REORGS)).toEqual([]);
  expect(await metric(collector.url, 'streamgauge_evm_reorgs_total', { chain: 'dev' })).toBe(0);
  expect(await metric(collector.url, 'streamgauge_evm_chain_resets_total', { chain: 'dev' })).toBe(1);

  // History holds the new chain only.
  const history = (await (await fetch(`${collector.url}/api/v1/messages?channel=${BLOCKS}&limit=100`)).json()) as {
    messages: { data: { number: number; hash: string } }[];
  };
  expect(history.messages.map((m) => m.data.hash)).toEqual(after.map((b) => b.hash));
});

test('behavior: a chain reset while the collector is stopped is found at start: a new epoch, no reorg, and a collector restart alone is not a reset', async () => {
  client!.close();
  await collector!.stop();
  const port = chain!.port;
  const oldGenesis = await canonicalHash(0);
  const oldBlock2 = await canonicalHash(2);
  await chain!.stop();
  chain = await startHardhat(port);
  const genesis = await canonicalHash(0);
  await mine(2);

  collector = await startCollector({ config, dataDir: collector!.dataDir, port: collector!.port });
  client = await WsTestClient.connect(collector.wsUrl);
  await subscribeAll(client);
  // (The status history of the epoch also holds the first test's reset.)
  const reset = await waitForData(client, STATUS, (s) => s.state === 'reset' && s.previousGenesis === oldGenesis);
  expect(reset.genesis).toBe(genesis);
  await waitForData(client, BLOCKS, (b) => b.number === 2 && b.hash !== oldBlock2);
  // A subscriber that came before the reset saw the old chain's blocks, then the epoch change.
  const blocks = dataOf(client, BLOCKS);
  const tail = blocks.slice(blocks.findIndex((b) => b.hash === genesis));
  expect(tail.map((b) => b.number)).toEqual([0, 1, 2]);
  for (const b of tail) {
    expect(b.hash).toBe(await canonicalHash(b.number));
  }
  expect(dataOf(client, REORGS)).toEqual([]);
  await waitForData(client, STATUS, (s) => s.state === 'following' && s.genesis === genesis);
  const epoch = epochOf(client, BLOCKS);

  // Restarting the collector on the same chain continues the same epoch: no reset, no repeat.
  client.close();
  await collector.stop();
  await mine(1);
  collector = await startCollector({ config, dataDir: collector.dataDir, port: collector.port });
  client = await WsTestClient.connect(collector.wsUrl);
  await subscribeAll(client);
  await waitForData(client, BLOCKS, (b) => b.number === 3);
  await waitForData(client, STATUS, (s) => s.state === 'following');
  expect(dataOf(client, BLOCKS).map((b) => b.number)).toEqual([0, 1, 2, 3]);
  expect(epochChange(client, BLOCKS)).toBeUndefined();
  expect(epochOf(client, BLOCKS)).toBe(epoch);
  expect(await metric(collector.url, 'streamgauge_evm_chain_resets_total', { chain: 'dev' })).toBe(0);
});
