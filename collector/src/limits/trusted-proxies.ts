/**
 * Which peers are proxies that speak for many clients (auth.limits.trustedProxies), and the client
 * address behind them.
 *
 * Why: in Grafana's default proxy mode every viewer's request and WebSocket reaches the collector
 * from Grafana's own address (pkg/api/pluginproxy/ds_proxy.go; pkg/util/proxyutil/proxyutil.go
 * appends the viewer's address to X-Forwarded-For). The per-IP limits would then count every
 * viewer as one client: the 513th open socket, or the 51st dashboard load in a second, would be
 * refused. For a listed peer the per-IP rate limit applies to the forwarded client address
 * instead, and the per-IP socket cap does not apply to the peer (it holds every viewer's socket;
 * limit it on the proxy). X-Forwarded-For is believed only from a listed peer, so a client
 * connecting directly cannot choose its own address.
 *
 * One decision for both paths: fastify's `trustProxy` gets `trusts` (so `req.ip` of REST and SSE
 * requests is the forwarded client), and WebSocket upgrades, which reach the HTTP server before
 * fastify, use `clientAddress`.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../errors';

export interface ProxyTrust {
  /** True when `address` (a socket's peer address) is a listed proxy. */
  trusts(address: string | undefined): boolean;
  /**
   * The client's address: the peer's own unless the peer is listed; then the right-most address of
   * X-Forwarded-For that is not itself a listed proxy (the left ones are whatever the client wrote).
   */
  clientAddress(req: IncomingMessage): string | undefined;
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is checked as 10.0.0.1. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * Builds the trust from `entries` (addresses and CIDR ranges, IPv4 or IPv6). Throws ConfigError
 * naming the entry that is neither. An empty list trusts nobody: X-Forwarded-For is ignored.
 */
export function createProxyTrust(entries: readonly string[]): ProxyTrust {
  const list = new BlockList();
  const problems: string[] = [];
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const maxBits = family === 4 ? 32 : 128;
    if (family === 0 || extra !== undefined || (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= maxBits))) {
      problems.push(
        `auth.limits.trustedProxies: ${JSON.stringify(entry)} is not an IP address or CIDR range (e.g. 10.0.0.0/8, 127.0.0.1, fd00::/8)`,
      );
      continue;
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(address, type);
    } else {
      list.addSubnet(address, bits, type);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(problems, 'config');
  }
  const trusts = (address: string | undefined): boolean => {
    if (entries.length === 0 || address === undefined) {
      return false;
    }
    const a = plain(address);
    const family = isIP(a);
    return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
  return {
    trusts,
    clientAddress(req) {
      const peer = req.socket.remoteAddress;
      if (!trusts(peer)) {
        return peer;
      }
      const header = req.headers['x-forwarded-for'];
      const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = hops[i].trim();
        if (hop === '') {
          continue;
        }
        if (isIP(plain(hop)) === 0) {
          return peer; // a hop that is not an address: believe nothing further left
        }
        if (!trusts(hop)) {
          return plain(hop);
        }
      }
      return peer;
    },
  };
}
