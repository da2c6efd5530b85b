/** JSON-RPC over HTTP(S) with fetch: one POST per request, each with its own timeout. */
import { EvmError } from './errors';
import { endpointLabel, type RpcTransport } from './rpc-transport';

/** Largest response body accepted (a block with full transactions on a busy chain is a few MB). */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

interface JsonRpcResponse {
  result?: unknown;
  error?: { code: number; message: string };
}

export function createHttpTransport(url: string, label: string = endpointLabel(url), timeoutMs = 10_000): RpcTransport {
  let nextId = 1;
  // Aborted by close(), so a shutdown does not wait for requests in flight to time out.
  let closing = new AbortController();
  return {
    url,
    label,
    kind: 'http',
    async request(method, params) {
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
          signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), closing.signal]),
        });
      } catch (err) {
        const e = err as Error;
        const why = e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : ((e.cause as Error | undefined)?.message ?? e.message);
        throw new EvmError('EVM_RPC_UNAVAILABLE', `${label} ${method}: ${why}`, { cause: err });
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        throw new EvmError('EVM_RPC_UNAVAILABLE', `${label} ${method}: HTTP ${res.status}`);
      }
      const length = Number(res.headers.get('content-length') ?? 0);
      if (length > MAX_RESPONSE_BYTES) {
        await res.body?.cancel().catch(() => undefined);
        throw new EvmError('EVM_RPC_UNAVAILABLE', `${label} ${method}: response of ${length} bytes exceeds ${MAX_RESPONSE_BYTES}`);
      }
      let body: JsonRpcResponse;
      try {
        body = (await res.json()) as JsonRpcResponse;
      } catch (err) {
        throw new EvmError('EVM_RPC_UNAVAILABLE', `${label} ${method}: response is not JSON`, { cause: err });
      }
      if (body.error) {
        throw new EvmError('EVM_RPC_ERROR', `${label} ${method}: ${body.error.message} (${body.error.code})`, { rpcCode: body.error.code });
      }
      return body.result;
    },
    close() {
      closing.abort(new Error('closed by the pool'));
      closing = new AbortController();
    },
  };
}
