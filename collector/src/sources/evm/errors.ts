/**
 * Errors of the EVM source's own logic (RPC failures are viem's errors, described by
 * rpc-client.ts's EndpointError). They never travel on the wire: they end up in the status
 * channel's `detail` and in logs, so a code and a short message suffice.
 */
export type EvmErrorCode =
  /** The chain moved while a step read it (a block vanished): the step is retried. */
  | 'EVM_CHAIN_MOVED'
  /** The source is stopping (collector stop or lease lost): nothing more is published. */
  | 'EVM_STOPPED';

export class EvmError extends Error {
  constructor(
    readonly code: EvmErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EvmError';
  }
}
