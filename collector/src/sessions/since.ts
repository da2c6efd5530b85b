import type { Since } from '@streamgauge/protocol';

/** Validates a start position (docs/protocol.md, "Start positions"); throws Error with the reason. */
export function parseSince(v: unknown): Since | undefined {
  if (v === undefined || v === null || v === 'latest') {
    return undefined;
  }
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new Error('since must be an object: {"epoch","offset"}, {"time"} or {"last"}');
  }
  const s = v as Record<string, unknown>;
  if ('epoch' in s || 'offset' in s) {
    if (typeof s.epoch !== 'string' || !Number.isSafeInteger(s.offset) || (s.offset as number) < 0) {
      throw new Error('since.epoch must be a string and since.offset an integer >= 0');
    }
    return { epoch: s.epoch, offset: s.offset as number };
  }
  if ('time' in s) {
    if (typeof s.time !== 'number' || !Number.isFinite(s.time)) {
      throw new Error('since.time must be ms since the Unix epoch');
    }
    return { time: s.time };
  }
  if ('last' in s) {
    if (!Number.isSafeInteger(s.last) || (s.last as number) < 0) {
      throw new Error('since.last must be an integer >= 0');
    }
    return { last: s.last as number };
  }
  throw new Error('since must be {"epoch","offset"}, {"time"} or {"last"}');
}

/** A time as ms since the Unix epoch or an ISO 8601 string; null when it is neither. */
export function parseTime(v: string): number | null {
  if (/^\d+$/.test(v)) {
    return Number(v);
  }
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}
