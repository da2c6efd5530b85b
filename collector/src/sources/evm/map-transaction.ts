/** Which transactions of a block touch watched addresses, and how the transactions channel carries them. */
import { type Hash, hexToNumber, type RpcTransaction, type RpcTransactionReceipt } from 'viem';

/** Transactions from or to a watched address, plus contract creations (their address is known only from the receipt). */
export function candidateTransactions(txs: readonly (Hash | RpcTransaction)[], watched: ReadonlySet<string>): RpcTransaction[] {
  const out: RpcTransaction[] = [];
  for (const t of txs) {
    if (typeof t === 'string') {
      continue;
    }
    if (t.to === null || watched.has(t.from.toLowerCase()) || watched.has(t.to.toLowerCase())) {
      out.push(t);
    }
  }
  return out;
}

export function touchesWatched(t: RpcTransaction, r: RpcTransactionReceipt, watched: ReadonlySet<string>): boolean {
  return (
    watched.has(t.from.toLowerCase()) ||
    (t.to !== null && watched.has(t.to.toLowerCase())) ||
    (!!r.contractAddress && watched.has(r.contractAddress.toLowerCase()))
  );
}

export function mapTransaction(
  t: RpcTransaction,
  r: RpcTransactionReceipt,
  blockNumber: number,
  timestampMs: number,
): Record<string, unknown> {
  const value = BigInt(t.value);
  return {
    hash: t.hash,
    blockNumber,
    timestamp: timestampMs,
    from: t.from.toLowerCase(),
    to: t.to ? t.to.toLowerCase() : null,
    contractAddress: r.contractAddress ? r.contractAddress.toLowerCase() : null,
    value: value.toString(),
    valueEth: Number(value) / 1e18,
    gas: hexToNumber(t.gas),
    gasUsed: hexToNumber(r.gasUsed),
    effectiveGasPriceGwei: r.effectiveGasPrice ? Number(BigInt(r.effectiveGasPrice)) / 1e9 : null,
    // Pre-Byzantium receipts have no status; treat them as successful (they carry a root instead).
    status: r.status === undefined || r.status === '0x1' ? 'success' : 'reverted',
  };
}
