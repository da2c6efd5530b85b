/** Decoding of watched events into events-channel messages (a small pure piece, so a unit test). */
import { type AbiEvent, encodeAbiParameters, encodeEventTopics, parseAbi, type RpcLog, toEventSelector } from 'viem';
import { decodeEvent, MAX_ARGS_JSON_BYTES } from '../../src/sources/evm/decode-event';
import type { ResolvedContract } from '../../src/sources/evm/config';

const [erc20Transfer, batch, blob] = parseAbi([
  'event Transfer(address indexed from, address indexed to, uint256 value)',
  'event Batch(uint256[] ids, (address owner, uint64 amount) info, bool ok)',
  'event Blob(bytes data)',
]) as unknown as AbiEvent[];

const TOKEN = '0x00000000000000000000000000000000000000aa';
const A = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const B = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

function contract(...events: AbiEvent[]): ResolvedContract {
  return { name: 'token', address: TOKEN, events: new Map(events.map((e) => [toEventSelector(e), e])) };
}

function log(topics: readonly unknown[], data: string) {
  return {
    address: TOKEN,
    topics: topics as string[],
    data,
    blockNumber: '0x10',
    blockHash: '0xbb',
    transactionHash: '0xtt',
    logIndex: '0x3',
    transactionIndex: '0x0',
    removed: false,
  } as unknown as RpcLog;
}

test('behavior: an ERC-20 Transfer decodes indexed and data arguments, with the uint256 as a decimal string', () => {
  const topics = encodeEventTopics({ abi: [erc20Transfer], eventName: 'Transfer', args: { from: A, to: B } });
  const data = encodeAbiParameters([{ type: 'uint256' }], [123456789012345678901234567890n]);
  expect(decodeEvent(contract(erc20Transfer), log(topics, data), 1_700_000_000_000)).toEqual({
    contract: 'token',
    event: 'Transfer',
    args: { from: A, to: B, value: '123456789012345678901234567890' },
    arg_from: A,
    arg_to: B,
    arg_value: '123456789012345678901234567890',
    blockNumber: 16,
    blockHash: '0xbb',
    timestamp: 1_700_000_000_000,
    txHash: '0xtt',
    logIndex: 3,
    address: TOKEN,
  });
});

test('behavior: arrays and tuples stay in args as JSON (bigints as strings) and are not flattened', () => {
  const topics = encodeEventTopics({ abi: [batch], eventName: 'Batch' });
  const data = encodeAbiParameters(batch.inputs, [[1n, 2n], { owner: A, amount: 7n }, true]);
  const msg = decodeEvent(contract(batch), log(topics, data), 0)!;
  expect(msg.args).toEqual({ ids: ['1', '2'], info: { owner: A, amount: '7' }, ok: true });
  expect(msg.arg_ok).toBe('true');
  expect(msg).not.toHaveProperty('arg_ids');
  expect(msg).not.toHaveProperty('arg_info');
});

test('behavior: a log of an event that is not watched gives null', () => {
  const topics = encodeEventTopics({ abi: [erc20Transfer], eventName: 'Transfer', args: { from: A, to: B } });
  expect(decodeEvent(contract(batch), log(topics, encodeAbiParameters([{ type: 'uint256' }], [1n])), 0)).toBeNull();
});

test('behavior: args larger than the limit are replaced by a note; the flattened string is cut to 256 characters', () => {
  const topics = encodeEventTopics({ abi: [blob], eventName: 'Blob' });
  const big = `0x${'ab'.repeat(MAX_ARGS_JSON_BYTES)}` as const;
  const msg = decodeEvent(contract(blob), log(topics, encodeAbiParameters(blob.inputs, [big])), 0)!;
  expect(msg.args).toEqual({ truncated: true, note: `args exceed ${MAX_ARGS_JSON_BYTES} bytes of JSON; read the log from the chain` });
  expect((msg.arg_data as string).length).toBe(256);
});
