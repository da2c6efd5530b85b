/**
 * Errors of the EVM source. They never travel on the wire: they end up in the status channel's
 * `detail`, in logs and in `streamgauge_evm_rpc_errors_total`, so a code and a short message suffice.
 */
export type EvmErrorCode =
  /** Network failure, timeout, HTTP error status or a closed WebSocket: the endpoint is failed over. */
  | 'EVM_RPC_UNAVAILABLE'
  /** The endpoint answered with a JSON-RPC error. */
  | 'EVM_RPC_ERROR'
  /** Every endpoint failed in turn: the source backs off and retries. */
  | 'EVM_ALL_ENDPOINTS_DOWN'
  /** The endpoint serves another chain than `chainId`: it is never used. */
  | 'EVM_CHAIN_MISMATCH'
  /** The chain moved while a step read it (a block vanished): the step is retried. */
  | 'EVM_CHAIN_MOVED'
  /** The configuration cannot run (bad ABI, address): the source stays down. */
  | 'EVM_CONFIG';

export class EvmError extends Error {
  constructor(
    readonly code: EvmErrorCode,
    message: string,
    options: { cause?: unknown; rpcCode?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EvmError';
    this.rpcCode = options.rpcCode;
  }
  readonly rpcCode?: number;
}
