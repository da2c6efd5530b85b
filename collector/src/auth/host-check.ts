/**
 * Host header check against DNS rebinding: a page on attacker.example whose name is re-pointed to
 * 127.0.0.1 talks to a collector on loopback as "same origin" (Origin and Host agree), so the
 * Origin check alone lets it through. With auth off anyone reaching the port may do everything, so
 * there the Host must name the collector: a loopback name or address, `server.host`, or one of
 * `auth.allowedHosts`. With keys configured a rebinding page holds no credential, and the check
 * applies (with the same names) only when `auth.allowedHosts` is set. `*` in allowedHosts turns it off.
 */
import { isIP } from 'node:net';

export type HostCheck = (hostHeader: string | undefined) => boolean;

/** The host name of a Host header value: lower case, without port or IPv6 brackets. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  }
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

export function isLoopbackHost(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost') || name === '::1' || (isIP(name) === 4 && name.startsWith('127.'));
}

const WILDCARD_BINDS = new Set(['', '0.0.0.0', '::']);

export function createHostCheck(o: { authEnabled: boolean; serverHost: string; allowedHosts: readonly string[] }): HostCheck {
  const allowed = new Set(o.allowedHosts.map((h) => hostName(h)));
  if (allowed.has('*') || (o.authEnabled && allowed.size === 0)) {
    return () => true;
  }
  if (!WILDCARD_BINDS.has(o.serverHost)) {
    allowed.add(hostName(o.serverHost));
  }
  return (hostHeader) => {
    if (!hostHeader) {
      return false;
    }
    const name = hostName(hostHeader);
    return allowed.has(name) || isLoopbackHost(name);
  };
}
