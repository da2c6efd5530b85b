import type { ErrorCode } from '@streamgauge/protocol';

/**
 * The one error class of the SDK. `code` is the collector's SG_* code when it answered with one,
 * or SDK_* for failures on this side (network, timeout, queue full, closed).
 */
export class StreamgaugeError extends Error {
  readonly code: ErrorCode | SdkErrorCode;
  /** HTTP status, when the collector answered. */
  readonly status?: number;
  /** true when sending the same request again may succeed (network, 429, 5xx). */
  readonly retryable: boolean;

  constructor(code: ErrorCode | SdkErrorCode, message: string, o: { status?: number; retryable?: boolean; cause?: unknown } = {}) {
    super(message, o.cause === undefined ? undefined : { cause: o.cause });
    this.name = 'StreamgaugeError';
    this.code = code;
    this.status = o.status;
    this.retryable = o.retryable ?? false;
  }
}

export const SdkErrorCode = {
  /** The collector could not be reached (connection refused, reset, DNS). */
  Network: 'SDK_NETWORK',
  /** No answer within requestTimeoutMs. */
  Timeout: 'SDK_TIMEOUT',
  /** The publish queue is full and onFull is 'reject'. */
  QueueFull: 'SDK_QUEUE_FULL',
  /** The publisher or subscriber was closed. */
  Closed: 'SDK_CLOSED',
  /** Retries ran out; `cause` holds the last failure. */
  RetriesExhausted: 'SDK_RETRIES_EXHAUSTED',
} as const;
export type SdkErrorCode = (typeof SdkErrorCode)[keyof typeof SdkErrorCode];
