/**
 * Scope decisions: a channel is in scope when one of the scope's patterns matches it (`**` alone
 * matches every channel). A token's scopes must be a subset of its key's: each requested pattern
 * must be covered by one of the key's patterns.
 */
import { isChannelName, isChannelPattern, matchChannel } from '@streamgauge/protocol';
import type { Principal, PrincipalVia, Scopes } from './principal';

export function inScope(patterns: readonly string[], channel: string): boolean {
  for (const p of patterns) {
    if (p === channel || (p.includes('*') && matchChannel(p, channel))) {
      return true;
    }
  }
  return false;
}

/** true when `pattern` is a valid channel name or pattern (what scopes accept). */
export function isScopePattern(pattern: unknown): pattern is string {
  return isChannelName(pattern) || isChannelPattern(pattern);
}

/**
 * true when every channel `inner` matches is also matched by `outer`. Segment by segment: `*` in
 * outer covers any one segment (literal or `*`), a trailing `**` covers the rest (one or more).
 */
export function patternCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const i = inner.split('/');
  for (let k = 0; k < o.length; k++) {
    if (o[k] === '**') {
      return i.length > k;
    }
    if (k >= i.length) {
      return false;
    }
    if (i[k] === '**') {
      return false;
    }
    if (o[k] !== '*' && o[k] !== i[k]) {
      return false;
    }
  }
  return o.length === i.length;
}

/** The patterns of `requested` that `granted` does not cover (empty: requested is a subset). */
export function uncovered(granted: readonly string[], requested: readonly string[]): string[] {
  return requested.filter((r) => !granted.some((g) => patternCovers(g, r)));
}

export function principalFromScopes(name: string, scopes: Scopes, via: PrincipalVia, expiresAt?: number): Principal {
  const frozen: Scopes = Object.freeze({
    publish: Object.freeze([...scopes.publish]),
    subscribe: Object.freeze([...scopes.subscribe]),
    admin: scopes.admin,
  });
  return Object.freeze({
    name,
    admin: frozen.admin,
    via,
    scopes: frozen,
    ...(expiresAt === undefined ? {} : { expiresAt }),
    canPublish: (channel: string) => inScope(frozen.publish, channel),
    canSubscribe: (channel: string) => inScope(frozen.subscribe, channel),
  });
}
