/**
 * Channel schemas: declared in config, or inferred from messages as they arrive. A message whose
 * field contradicts the schema (a string where the schema says number) is refused with
 * SG_SCHEMA_MISMATCH, so panels never see a column change type under them. null is always allowed.
 */
import type { ChannelSchema, FieldSchema, FieldType } from '@streamgauge/protocol';

/**
 * Longest field name an inferred schema takes (UTF-16 units). Longer names are stored and delivered
 * but never enter the schema, like fields past channels.maxInferredFields: so an inferred schema is
 * at most maxInferredFields × 128 characters of names, in every channel list and `subscribed` frame.
 */
export const MAX_FIELD_NAME_LENGTH = 128;

const TIME_NAME_RE = /(^|_)(time|timestamp|ts|at)$|At$|Time$/;

export function inferType(name: string, v: unknown): FieldType | null {
  switch (typeof v) {
    case 'number':
      return TIME_NAME_RE.test(name) && v > 1e11 ? 'time' : 'number';
    case 'boolean':
      return 'boolean';
    case 'string':
      return TIME_NAME_RE.test(name) && !Number.isNaN(Date.parse(v)) ? 'time' : 'string';
    case 'object':
      return v === null ? null : 'json';
    default:
      return null;
  }
}

/** Does `v` fit a field of type `t`? */
export function fits(t: FieldType, v: unknown): boolean {
  if (v === null || v === undefined) {
    return true;
  }
  switch (t) {
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'time':
      return (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && !Number.isNaN(Date.parse(v)));
    case 'json':
      return typeof v === 'object';
  }
}

/**
 * The fields of a schema by name, built once per fields array: every message of a publish is
 * checked, and building the map each time was a third of the check's cost. A schema's fields are
 * never changed in place (channel-registry.ts replaces the array when a schema grows), so an
 * array's map stays right; the WeakMap lets replaced arrays go.
 */
const byNameCache = new WeakMap<readonly FieldSchema[], Map<string, FieldSchema>>();
function fieldsByName(fields: readonly FieldSchema[]): Map<string, FieldSchema> {
  let m = byNameCache.get(fields);
  if (!m) {
    m = new Map(fields.map((f) => [f.name, f]));
    byNameCache.set(fields, m);
  }
  return m;
}

/**
 * Checks `data` against `schema`. Returns a problem description, or null when it fits.
 * With `grow`, fields not yet in an inferred schema are added (up to `maxFields`); the returned
 * `added` lists them so the caller can publish the new schema.
 */
export function checkAgainstSchema(
  schema: ChannelSchema,
  data: Record<string, unknown>,
  maxFields: number,
): { problem: string | null; added: FieldSchema[] } {
  const added: FieldSchema[] = [];
  const byName = fieldsByName(schema.fields);
  // for…in rather than Object.entries: no array of pairs per message (data is a parsed JSON object,
  // so it has only own enumerable properties).
  for (const name in data) {
    const v = data[name];
    const f = byName.get(name);
    if (f) {
      if (!fits(f.type, v)) {
        return { problem: `field ${JSON.stringify(name)} must be ${f.type}, got ${describe(v)}`, added: [] };
      }
    } else if (!schema.declared && byName.size + added.length < maxFields && name.length <= MAX_FIELD_NAME_LENGTH) {
      const t = inferType(name, v);
      if (t) {
        added.push({ name, type: t });
      }
    }
  }
  return { problem: null, added };
}

function describe(v: unknown): string {
  if (Array.isArray(v)) {
    return 'array';
  }
  if (typeof v === 'string') {
    return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  }
  return typeof v === 'object' ? 'object' : `${typeof v} ${String(v)}`;
}
