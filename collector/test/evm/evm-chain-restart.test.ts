/**
 * The chain's RPC process itself killed and started again on the same port. A hardhat node keeps
 * nothing across a restart, so it comes back as a new chain from genesis: the source shows `down`
 * while it is gone, then takes the new chain as a reorg deeper than its window and follows it.
 */
import { type CollectorProcess, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { dataOf, waitForData } from './evm-test-utils';
import { type HardhatNode, startHardhat } from './hardhat-node';

const BLOCKS = 'evm/dev/blocks';
const REORGS = 'evm/dev/reorgs';
const STATUS = 'evm/dev/status';

let chain: HardhatNode | undefined;
let collector: CollectorProcess | undefined;
let client: WsTestClient | undefined;

afterAll(async () => {
  client?.close();
  await collector?.stop();
  collector?.cleanup();
  await chain?.stop();
});

test('behavior: a killed and restarted dev chain shows down, then is followed from its new genesis after one reorg message', async () => {
  chain = await startHardhat();
  const port = chain.port;
  collector = await startCollector({
    config: {
      evm: {
        chains: [
          {
            name: 'dev',
            chainId: 31337,
            rpcUrls: [chain.httpUrl],
            confirmations: 2,
            startBlock: 0,
            pollIntervalMs: 100,
            maxBackoffMs: 300,
          },
        ],
      },
    },
  });
  client = await WsTestClient.connect(collector.wsUrl);
  await client.subscribe(BLOCKS, { last: 1000 });
  await client.subscribe(REORGS, { last: 1000 });
  await client.subscribe(STATUS);
  for (let i = 0; i < 5; i++) {
    await chain.rpc('evm_mine');
  }
  await waitForData(client, BLOCKS, (b) => b.number === 5);
  const before = dataOf(client, BLOCKS);

  await chain.stop();
  const down = await waitForData(client, STATUS, (s) => s.state === 'down');
  expect(down).toMatchObject({ chain: 'dev', endpoint: `127.0.0.1:${port}`, head: 5 });

  chain = await startHardhat(port);
  const genesis = await chain.rpc<any>('eth_getBlockByNumber', ['0x0', false]);
  expect(genesis.hash).not.toBe(before[0].hash);
  const reorg = await waitForData(client, REORGS, () => true);
  expect(reorg).toEqual({
    depth: 3,
    oldHead: before[5].hash,
    oldHeadNumber: 5,
    newHead: genesis.hash,
    newHeadNumber: 0,
    orphaned: [3, 4, 5],
    orphanedHashes: before.slice(3).map((b) => b.hash),
    commonAncestor: -1,
    commonAncestorHash: null,
    beyondConfirmations: true,
  });

  for (let i = 0; i < 3; i++) {
    await chain.rpc('evm_mine');
  }
  await waitForData(client, BLOCKS, (b) => b.number === 3 && b.hash !== before[3].hash);
  await new Promise((r) => setTimeout(r, 300));
  const after = dataOf(client, BLOCKS).slice(6);
  expect(after.map((b) => b.number)).toEqual([0, 1, 2, 3]);
  for (const b of after) {
    expect(b.hash).toBe((await chain.rpc<any>('eth_getBlockByNumber', [`0x${b.number.toString(16)}`, false])).hash);
  }
  await waitForData(
    client,
    STATUS,
    (s) => s.state === 'following' && dataOf(client!, STATUS).indexOf(s) > dataOf(client!, STATUS).indexOf(down),
  );
});
