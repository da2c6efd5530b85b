/**
 * What of an RPC URL may appear in metrics, logs and status: `host:port` only. Provider URLs carry
 * API keys in their path or query, and viem's own error messages quote the whole URL, so they are
 * never logged as they are (rpc-client.ts describes errors itself).
 */
export function endpointLabel(url: string): string {
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === 'https:' || u.protocol === 'wss:' ? '443' : '80');
    return `${u.hostname}:${port}`;
  } catch {
    return 'invalid-url';
  }
}

/** Labels of the URLs: host:port, with `#index` added where two URLs share a host. */
export function endpointLabels(urls: readonly string[]): string[] {
  const base = urls.map(endpointLabel);
  return base.map((l, i) => (base.indexOf(l) !== base.lastIndexOf(l) ? `${l}#${i}` : l));
}
