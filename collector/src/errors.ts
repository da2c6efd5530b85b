import { ERROR_HTTP_STATUS, ErrorCode } from '@streamgauge/protocol';

/**
 * The one error class of the collector. `code` is a stable SG_* code from
 * @streamgauge/protocol (documented in docs/protocol.md); `statusCode` is what REST answers.
 */
export class SgError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SgError';
    this.code = code;
    this.statusCode = ERROR_HTTP_STATUS[code];
    this.details = options.details;
  }

  toBody(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export function sgError(code: ErrorCode, message: string, options?: { cause?: unknown; details?: unknown }): SgError {
  return new SgError(code, message, options);
}

/** Startup configuration errors: the message says which setting is wrong and what to change. */
export class ConfigError extends Error {
  readonly code = 'SG_CONFIG_INVALID';
  readonly problems: string[];
  constructor(problems: string[], source: string) {
    super(`invalid configuration (${source}):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
