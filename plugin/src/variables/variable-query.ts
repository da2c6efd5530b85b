/**
 * Template variable queries: `channels()`, `channels(app/*)`, `fields(app/scans)`,
 * `values(app/scans, country)` and `values(app/scans, country, 5000)` (messages scanned, default 1000).
 */
export type VariableQuery =
  | { kind: 'channels'; pattern?: string }
  | { kind: 'fields'; channel: string }
  | { kind: 'values'; channel: string; field: string; limit: number };

export const VARIABLE_DEFAULTS = {
  /** Messages scanned for distinct values (newest first); capped by the collector's limits.historyMaxLimit. */
  valuesLimit: 1_000,
};

export class VariableQueryError extends Error {
  readonly code = 'SG_PLUGIN_BAD_VARIABLE_QUERY';
}

const CALL_RE = /^\s*(channels|fields|values)\s*\(\s*(.*?)\s*\)\s*$/i;

export function parseVariableQuery(text: string): VariableQuery {
  const t = text.trim();
  if (t === '' || t === '*') {
    return { kind: 'channels' };
  }
  const m = CALL_RE.exec(t);
  if (!m) {
    throw new VariableQueryError(
      `variable query "${t}": expected channels(), channels(pattern), fields(channel) or values(channel, field)`
    );
  }
  const fn = m[1].toLowerCase();
  const args = m[2] === '' ? [] : m[2].split(',').map((a) => a.trim().replace(/^(['"])(.*)\1$/, '$2'));
  if (fn === 'channels') {
    return args[0] ? { kind: 'channels', pattern: args[0] } : { kind: 'channels' };
  }
  if (fn === 'fields') {
    if (!args[0]) {
      throw new VariableQueryError('fields(channel) needs a channel');
    }
    return { kind: 'fields', channel: args[0] };
  }
  if (args.length < 2 || !args[0] || !args[1]) {
    throw new VariableQueryError('values(channel, field) needs a channel and a field');
  }
  const limit = args[2] ? Number(args[2]) : VARIABLE_DEFAULTS.valuesLimit;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new VariableQueryError(`values(): limit must be an integer >= 1, got ${args[2]}`);
  }
  return { kind: 'values', channel: args[0], field: args[1], limit };
}
