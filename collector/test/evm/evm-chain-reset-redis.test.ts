/**
 * A chain reset with the Redis store: the instance that follows the chain starts the new epoch in
 * Redis, and a subscriber on another instance (which has no `evm` section) is told of it and
 * receives the new chain's blocks.
 */
import type { CollectorProcess } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { startInstance } from '../redis/multi-instance';
import { type RedisProcess, startRedis } from '../redis/redis-process';
import { dataOf, waitForData } from './evm-test-utils';
import { type HardhatNode, startHardhat } from './hardhat-node';

jest.setTimeout(90_000);

const BLOCKS = 'evm/devr/blocks';
const REORGS = 'evm/devr/reorgs';

let redis: RedisProcess | undefined;
let chain: HardhatNode | undefined;
const collectors: CollectorProcess[] = [];
let client: WsTestClient | undefined;

afterAll(async () => {
  client?.close();
  for (const c of collectors) {
    await c.stop();
    c.cleanup();
  }
  await chain?.stop();
  await redis?.stop();
});

test('behavior: with Redis, a reset chain is a new epoch that a subscriber on another instance sees, with the new blocks and no reorg', async () => {
  redis = await startRedis();
  chain = await startHardhat();
  const port = chain.port;
  collectors.push(
    await startInstance(redis.url, {
      evm: { chains: [{ name: 'devr', chainId: 31337, rpcUrls: [chain.httpUrl], confirmations: 2, startBlock: 0, pollIntervalMs: 100 }] },
    }),
  );
  const reader = await startInstance(redis.url);
  collectors.push(reader);
  for (let i = 0; i < 3; i++) {
    await chain.rpc('evm_mine');
  }
  client = await WsTestClient.connect(reader.wsUrl);
  await client.subscribe(BLOCKS, { last: 1000 });
  await client.subscribe(REORGS, { last: 1000 });
  await waitForData(client, BLOCKS, (b) => b.number === 3);
  const before = dataOf(client, BLOCKS);

  await chain.stop();
  chain = await startHardhat(port);
  const genesis = (await chain.rpc<{ hash: string }>('eth_getBlockByNumber', ['0x0', false])).hash;
  await chain.rpc('evm_mine');

  await client.waitFor((f) => f.type === 'subscribed' && f.channel === BLOCKS && f.reason === 'epoch_changed', 30_000);
  await waitForData(client, BLOCKS, (b) => b.number === 1 && dataOf(client!, BLOCKS).indexOf(b) >= before.length, 30_000);
  const after = dataOf(client, BLOCKS).slice(before.length);
  expect(after.map((b) => b.number)).toEqual([0, 1]);
  expect(after[0].hash).toBe(genesis);
  expect((client.messages.get(BLOCKS) ?? []).slice(before.length).map((m) => m.offset)).toEqual([1, 2]);
  expect(dataOf(client, REORGS)).toEqual([]);
});
