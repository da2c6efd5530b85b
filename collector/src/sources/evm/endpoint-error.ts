/**
 * RPC failures as the source reports them: which endpoint (`host:port`), which method, what
 * happened, and whether the endpoint answered (a JSON-RPC error: it is up) or failed. viem's own
 * error messages quote the whole URL (provider URLs carry API keys) and the request body, so they
 * are never logged or published as they are.
 */
import { BaseError, HttpRequestError, ResponseBodyTooLargeError, RpcRequestError, TimeoutError } from 'viem';

/** Largest HTTP response body accepted (a block with full transactions on a busy chain is a few MB). */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * A request that failed at one endpoint, described without its URL. `answer`: the endpoint answered
 * with a JSON-RPC error (it is up); otherwise it failed (network, timeout, HTTP status, wrong chain).
 * `code` carries the JSON-RPC error code so viem's retry policy treats the answer as it would its own.
 */
export class EndpointError extends BaseError {
  override name = 'EndpointError';
  readonly code?: number;
  constructor(
    readonly label: string,
    readonly method: string,
    readonly detail: string,
    readonly answer: boolean,
    options: { code?: number; cause?: unknown } = {},
  ) {
    super(`${label} ${method}: ${detail}`, { cause: options.cause as Error | undefined });
    this.code = options.code;
  }
}

/** The EndpointError behind an error thrown by a request (viem wraps it in its own classes). */
export function endpointErrorOf(err: unknown): EndpointError | undefined {
  if (err instanceof EndpointError) {
    return err;
  }
  return err instanceof BaseError ? ((err.walk((e) => e instanceof EndpointError) as EndpointError | null) ?? undefined) : undefined;
}

/** viem's error as an EndpointError: what happened, with host:port and never the URL. */
export function describeRpcError(err: unknown, e: { url: string; label: string }, method: string, timeoutMs: number): EndpointError {
  const found = endpointErrorOf(err);
  if (found) {
    return found;
  }
  const base = err instanceof BaseError ? err : undefined;
  const rpc = base?.walk((x) => x instanceof RpcRequestError) as RpcRequestError | null | undefined;
  if (rpc) {
    return new EndpointError(e.label, method, `${scrub(rpc.details, e)} (${rpc.code})`, true, { code: rpc.code, cause: err });
  }
  // A JSON-RPC error object ({code, message}) as the WebSocket subscribe rejects with.
  const plain = err as { code?: unknown; message?: unknown } | undefined;
  if (!base && typeof plain?.code === 'number' && typeof plain.message === 'string') {
    return new EndpointError(e.label, method, `${scrub(plain.message, e)} (${plain.code})`, true, { code: plain.code, cause: err });
  }
  let detail: string;
  if (base?.walk((x) => x instanceof TimeoutError)) {
    detail = `timed out after ${timeoutMs} ms`;
  } else if (base?.walk((x) => x instanceof ResponseBodyTooLargeError)) {
    detail = `response larger than ${MAX_RESPONSE_BYTES} bytes`;
  } else {
    const h = base?.walk((x) => x instanceof HttpRequestError) as HttpRequestError | null | undefined;
    detail = h?.status ? `HTTP ${h.status}` : scrub(innermostMessage(err), e);
  }
  return new EndpointError(e.label, method, detail, false, { cause: err });
}

/** The most specific message down the cause chain (e.g. `connect ECONNREFUSED 127.0.0.1:8545`). */
function innermostMessage(err: unknown): string {
  let msg = 'request failed';
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 8; depth++) {
    const c = cur as { shortMessage?: unknown; message?: unknown; cause?: unknown; error?: unknown };
    const m = typeof c.shortMessage === 'string' ? c.shortMessage : c.message;
    if (typeof m === 'string' && m.trim()) {
      msg = m.split('\n')[0];
    }
    cur = c.cause ?? c.error;
  }
  return msg;
}

/** Replaces the endpoint's URL (and any other URL) in a message by its host:port. */
function scrub(text: string, e: { url: string; label: string }): string {
  return text
    .split(e.url)
    .join(e.label)
    .replace(/\b(?:https?|wss?):\/\/[^\s"']+/g, e.label);
}
