import { CHANNEL_NAME_RE, CHANNEL_PATTERN_RE } from './wire';

export function isChannelName(s: unknown): s is string {
  return typeof s === 'string' && CHANNEL_NAME_RE.test(s);
}

export function isPattern(s: string): boolean {
  return s.includes('*');
}

export function isChannelPattern(s: unknown): s is string {
  return typeof s === 'string' && CHANNEL_PATTERN_RE.test(s) && (!s.includes('**') || s.endsWith('**'));
}

/** `*` matches one segment; a trailing `**` matches one or more remaining segments. */
export function matchChannel(pattern: string, name: string): boolean {
  const p = pattern.split('/');
  const n = name.split('/');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '**') {
      return n.length > i;
    }
    if (i >= n.length) {
      return false;
    }
    if (p[i] !== '*' && p[i] !== n[i]) {
      return false;
    }
  }
  return p.length === n.length;
}

/** The first segment of a channel name: the only part of it used as a metric label. */
export function channelNamespace(name: string): string {
  const i = name.indexOf('/');
  return i < 0 ? name : name.slice(0, i);
}
