/**
 * The query editor's simple filter on field values: `field op value`, several joined by `and` or
 * `,` (all must hold). Ops: = != > >= < <= ~ (substring). Numbers compare as numbers when both
 * sides are numeric; quotes around the value are optional.
 */
import type { MessageItem } from '@streamgauge/protocol';

export type FilterOp = '=' | '!=' | '>' | '>=' | '<' | '<=' | '~';

export interface FilterCondition {
  field: string;
  op: FilterOp;
  value: string;
}

export type MessagePredicate = (item: MessageItem) => boolean;

const CONDITION_RE = /^\s*([A-Za-z_][\w.-]*)\s*(!=|>=|<=|=|>|<|~)\s*(.*?)\s*$/;

export class FilterSyntaxError extends Error {
  readonly code = 'SG_PLUGIN_BAD_FILTER';
}

export function parseFilter(text: string | undefined): FilterCondition[] {
  if (!text || !text.trim()) {
    return [];
  }
  return text
    .split(/\s+and\s+|,/i)
    .filter((part) => part.trim() !== '')
    .map((part) => {
      const m = CONDITION_RE.exec(part);
      if (!m) {
        throw new FilterSyntaxError(`filter "${part.trim()}": expected field op value, op one of = != > >= < <= ~`);
      }
      return { field: m[1], op: m[2] as FilterOp, value: m[3].replace(/^(['"])(.*)\1$/, '$2') };
    });
}

function holds(c: FilterCondition, v: unknown): boolean {
  if (c.op === '~') {
    return v !== undefined && v !== null && String(v).includes(c.value);
  }
  const n = Number(c.value);
  const numeric = typeof v === 'number' && c.value !== '' && !Number.isNaN(n);
  const a: number | string = numeric ? (v as number) : v === undefined || v === null ? '' : String(v);
  const b: number | string = numeric ? n : c.value;
  switch (c.op) {
    case '=':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
  }
}

/**
 * A predicate over messages; undefined when the filter is empty (no per-message cost). `key`, and
 * the channel's key field (`keyField`), read the message's key when the data lacks them: an entity
 * delete carries its key beside the data, and a filter on the key must keep it.
 */
export function compileFilter(text: string | undefined, keyField?: string): MessagePredicate | undefined {
  const conditions = parseFilter(text);
  if (!conditions.length) {
    return undefined;
  }
  return (item) =>
    conditions.every((c) =>
      holds(c, (c.field === 'key' || c.field === keyField) && !(c.field in item.data) ? item.key : item.data[c.field])
    );
}
