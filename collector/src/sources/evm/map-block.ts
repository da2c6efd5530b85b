/** A block header as the blocks channel carries it. */
import { hexToNumber, type RpcBlock } from 'viem';

/** A block as eth_getBlockByNumber returns it for a mined block (hash and number set). */
export type ChainBlock = RpcBlock<'latest'>;

export interface BlockMessage {
  [k: string]: unknown;
  number: number;
  hash: string;
  parentHash: string;
  /** ms since the Unix epoch. */
  timestamp: number;
  txCount: number;
  gasUsed: number;
  gasLimit: number;
  gasUsedRatio: number;
  baseFeeGwei: number | null;
  blockInterval: number | null;
}

/** `parentTimestamp` in seconds, when the parent is known; the interval is null otherwise. */
export function mapBlock(b: ChainBlock, parentTimestamp: number | undefined): BlockMessage {
  const gasUsed = hexToNumber(b.gasUsed);
  const gasLimit = hexToNumber(b.gasLimit);
  const ts = hexToNumber(b.timestamp);
  return {
    number: hexToNumber(b.number),
    hash: b.hash,
    parentHash: b.parentHash,
    timestamp: ts * 1000,
    txCount: b.transactions.length,
    gasUsed,
    gasLimit,
    gasUsedRatio: gasLimit > 0 ? gasUsed / gasLimit : 0,
    // Number(bigint) / 1e9 keeps gwei exact to 9 decimals for any realistic base fee.
    baseFeeGwei: b.baseFeePerGas ? Number(BigInt(b.baseFeePerGas)) / 1e9 : null,
    blockInterval: parentTimestamp === undefined ? null : ts - parentTimestamp,
  };
}
