/**
 * Channel schema -> Grafana fields. One place decides field order, types and units, so every panel
 * (time series, stat, gauge, table, logs, Geomap) works on the frame with no transformation.
 */
import { FieldType, type FieldConfig } from '@grafana/data';
import type { ChannelKind, ChannelSchema, FieldSchema, MessageItem } from '@streamgauge/protocol';

/** How one frame column is filled from a message. */
export interface FieldSpec {
  name: string;
  type: FieldType;
  config: FieldConfig;
  read: (item: MessageItem) => unknown;
}

/** Name of the column holding the server time when the channel declares no time field of its own. */
export const SERVER_TIME_FIELD = 'ts';

export const GRAFANA_TYPE: Readonly<Record<FieldSchema['type'], FieldType>> = Object.freeze({
  number: FieldType.number,
  string: FieldType.string,
  boolean: FieldType.boolean,
  time: FieldType.time,
  json: FieldType.other,
});

/** ms since the epoch, or an ISO 8601 string, or seconds (values below year 2001 in ms), to ms. */
export function toMillis(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) {
    // Unix seconds (e.g. block timestamps) would otherwise land in January 1970.
    return v < 1e11 ? v * 1000 : v;
  }
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) {
      return toMillis(n);
    }
    const t = Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }
  if (v instanceof Date) {
    return v.getTime();
  }
  return null;
}

function convert(type: FieldSchema['type'], v: unknown): unknown {
  if (v === undefined || v === null) {
    return null;
  }
  switch (type) {
    case 'number': {
      if (typeof v === 'number') {
        return v;
      }
      // Big integers (wei, gas) arrive as decimal strings; a float loses digits but still plots.
      const n = typeof v === 'string' || typeof v === 'bigint' ? Number(v) : NaN;
      return Number.isNaN(n) ? null : n;
    }
    case 'string':
      return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
    case 'boolean':
      return typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : null;
    case 'time':
      return toMillis(v);
    case 'json':
      return v;
  }
}

function configOf(f: FieldSchema): FieldConfig {
  const config: FieldConfig = {};
  if (f.unit) {
    config.unit = f.unit;
  }
  if (f.description) {
    config.description = f.description;
  }
  return config;
}

export interface FieldMappingOptions {
  /** Keep only these fields (besides time); empty or absent: all. */
  fields?: string[];
  kind?: ChannelKind;
  /** Annotation frames: add `text` (from textField, default `message`, else the data as JSON) and `tags`. */
  annotation?: { textField?: string; tags?: string[] };
  /**
   * Entity channels shown as changes: add a boolean column (DELETED_FIELD) that is true on the row
   * of a delete (or a TTL expiry), so a deletion is a row of its own rather than a silent gap.
   */
  deletedMarker?: boolean;
}

/** The deleted marker's column; `_deleted` when the schema has a field of that name already. */
export const DELETED_FIELD = 'deleted';

/** True when the schema looks like log lines: the frame then asks for the logs visualisation. */
export function isLogsSchema(schema: ChannelSchema): boolean {
  const names = new Set(schema.fields.map((f) => f.name));
  return names.has('message') && names.has('level');
}

/**
 * Columns for a channel: time first (StreamingDataFrame trims its time window on the first time
 * field), then for log channels `message` and `level` (the logs panel reads the first string field
 * as the line), then the schema's fields in order; state and entity channels get their `key`, and
 * entity changes the deleted marker after it.
 */
export function fieldSpecs(schema: ChannelSchema, o: FieldMappingOptions = {}): FieldSpec[] {
  const timeField = schema.timeField ? schema.fields.find((f) => f.name === schema.timeField) : undefined;
  const specs: FieldSpec[] = [];
  if (timeField) {
    const name = timeField.name;
    specs.push({
      name,
      type: FieldType.time,
      config: configOf(timeField),
      // The event's own time; the server time only when the event lacks one.
      read: (m) => toMillis(m.data[name]) ?? m.ts,
    });
  } else {
    specs.push({ name: SERVER_TIME_FIELD, type: FieldType.time, config: {}, read: (m) => m.ts });
  }
  const keep = o.fields && o.fields.length ? new Set(o.fields) : undefined;
  let rest = schema.fields.filter((f) => f !== timeField && (!keep || keep.has(f.name)));
  if (isLogsSchema(schema)) {
    const rank = (f: FieldSchema) => (f.name === 'message' ? 0 : f.name === 'level' ? 1 : 2);
    rest = [...rest].sort((a, b) => rank(a) - rank(b));
  }
  if (o.kind && o.kind !== 'stream' && !schema.keyField && !(keep && !keep.has('key'))) {
    specs.push({ name: 'key', type: FieldType.string, config: {}, read: (m) => m.key ?? null });
  }
  if (o.deletedMarker && o.kind === 'entity') {
    const name = schema.fields.some((f) => f.name === DELETED_FIELD) ? `_${DELETED_FIELD}` : DELETED_FIELD;
    if (!(keep && !keep.has(name))) {
      specs.push({ name, type: FieldType.boolean, config: {}, read: (m) => m.deleted === true });
    }
  }
  for (const f of rest) {
    const name = f.name;
    const type = f.type;
    // A delete carries its key beside the data, not in it: the key field shows it all the same.
    const read =
      name === schema.keyField
        ? (m: MessageItem) => convert(type, m.data[name] ?? m.key)
        : (m: MessageItem) => convert(type, m.data[name]);
    specs.push({ name, type: GRAFANA_TYPE[type], config: configOf(f), read });
  }
  if (o.annotation) {
    const textField = o.annotation.textField || 'message';
    const tags = o.annotation.tags ?? [];
    // Grafana's annotation mapping reads the columns named time, text and tags.
    specs[0] = { ...specs[0], name: 'time' };
    specs.push({
      name: 'text',
      type: FieldType.string,
      config: {},
      read: (m) => (m.data[textField] !== undefined ? String(m.data[textField]) : JSON.stringify(m.data)),
    });
    specs.push({
      name: 'tags',
      type: FieldType.other,
      config: {},
      read: (m) => (typeof m.data.level === 'string' ? [...tags, m.data.level] : tags),
    });
  }
  return specs;
}
