/**
 * A newHeads notification that arrives in the same socket read as the eth_subscribe reply (a
 * provider may send both at once) must not be lost. The hand-written transport registered the
 * subscription only after awaiting the reply and dropped such a notification: the block then
 * waited for the safety-net head check (SUBSCRIBED_POLL_MS). Here a stand-in in front of hardhat
 * writes the reply and the notification in one TCP write.
 */
import { SUBSCRIBED_POLL_MS } from '../../src/sources/evm/head-follower';
import { type CollectorProcess, startCollector } from '../helpers/collector-process';
import { WsTestClient } from '../helpers/ws-test-client';
import { dataOf, waitForData } from './evm-test-utils';
import { type HardhatNode, startHardhat } from './hardhat-node';
import { type SameReadRpc, startSameReadRpc } from './same-read-rpc';

jest.setTimeout(60_000);

const BLOCKS = 'evm/sameread/blocks';
const STATUS = 'evm/sameread/status';

let chain: HardhatNode | undefined;
let rpc: SameReadRpc | undefined;
let collector: CollectorProcess | undefined;
let client: WsTestClient | undefined;

afterAll(async () => {
  client?.close();
  await collector?.stop();
  collector?.cleanup();
  await rpc?.stop();
  await chain?.stop();
});

test('behavior: a newHeads notification in the same socket read as the subscribe reply is acted on: no block missed or delayed', async () => {
  chain = await startHardhat();
  rpc = await startSameReadRpc(chain.wsUrl, () => chain!.rpc('evm_mine'));
  collector = await startCollector({
    config: {
      evm: { chains: [{ name: 'sameread', chainId: 31337, rpcUrls: [rpc.url], startBlock: 0, confirmations: 2, pollIntervalMs: 100 }] },
    },
  });
  client = await WsTestClient.connect(collector.wsUrl);
  await client.subscribe(BLOCKS, { last: 1000 });
  await client.subscribe(STATUS, { last: 1000 });

  // Block 0 is published by the first step; the subscription comes after it, and the stand-in
  // mines block 1 and sends its notification together with the subscribe reply.
  expect(await rpc.delivered).toBe(1);
  // With the subscription up, the next head check without a notification comes SUBSCRIBED_POLL_MS
  // later: block 1 arriving well before that shows the notification was used, not lost.
  await waitForData(client, BLOCKS, (b) => b.number === 1, SUBSCRIBED_POLL_MS / 2);
  await waitForData(client, STATUS, (s) => s.state === 'following' && s.subscribed === true);

  // Later notifications flow as usual; every block exactly once, in order.
  await chain.rpc('evm_mine');
  await chain.rpc('evm_mine');
  await waitForData(client, BLOCKS, (b) => b.number === 3, SUBSCRIBED_POLL_MS / 2);
  expect(dataOf(client, BLOCKS).map((b) => b.number)).toEqual([0, 1, 2, 3]);
  expect(client.gapsAndDuplicates(BLOCKS)).toEqual({ gaps: 0, duplicates: 0 });
});
