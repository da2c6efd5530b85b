/** The JSON-RPC shapes the source reads (quantities are hex strings, as on the wire). */
export interface RpcTransaction {
  hash: string;
  from: string;
  to: string | null;
  value: string;
  gas: string;
  nonce: string;
  blockNumber: string;
}

export interface RpcBlock {
  number: string;
  hash: string;
  parentHash: string;
  timestamp: string;
  gasUsed: string;
  gasLimit: string;
  baseFeePerGas?: string;
  /** Hashes, or full transactions when asked for with `true`. */
  transactions: (string | RpcTransaction)[];
}

export interface RpcReceipt {
  transactionHash: string;
  status?: string;
  gasUsed: string;
  effectiveGasPrice?: string;
  contractAddress: string | null;
}

export interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  logIndex: string;
  removed?: boolean;
}

export function hexToNumber(hex: string | undefined | null): number {
  return hex ? Number.parseInt(hex, 16) : 0;
}

export function toHex(n: number): string {
  return `0x${n.toString(16)}`;
}
