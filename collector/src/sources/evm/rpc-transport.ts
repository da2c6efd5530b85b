/** What the pool needs from one RPC endpoint, over HTTP or WebSocket. */
export interface RpcTransport {
  readonly url: string;
  /** host:port, never the full URL: provider URLs carry API keys in their path or query. */
  readonly label: string;
  readonly kind: 'http' | 'ws';
  /** Resolves with `result`; rejects with EvmError EVM_RPC_UNAVAILABLE (transport) or EVM_RPC_ERROR (an answer). */
  request(method: string, params: unknown[]): Promise<unknown>;
  /**
   * WebSocket only: `eth_subscribe newHeads`. `onHead` gets each new head's number; `onLost` is
   * called once if the connection drops. Resolves with the unsubscribe function.
   */
  subscribeHeads?(onHead: (number: number) => void, onLost: () => void): Promise<() => void>;
  /** Drops the connection (and its subscription); a later request connects again. */
  close(): void;
}

/** `host:port` of an RPC URL, the only part of it that may appear in metrics, logs and status. */
export function endpointLabel(url: string): string {
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === 'https:' || u.protocol === 'wss:' ? '443' : '80');
    return `${u.hostname}:${port}`;
  } catch {
    return 'invalid-url';
  }
}
