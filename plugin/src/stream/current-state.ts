/**
 * Current state of a state or entity channel, as one row per key: the snapshot, then each change
 * in offset order (an update replaces its key's row, a delete or a TTL expiry, which the collector
 * publishes as a delete, removes it). Emitted as a keyed frame that Grafana's table, stat, bar
 * gauge and Geomap panels show without transformations. Pure and usable from Node (benchmarks).
 *
 * @example
 * const s = new CurrentStateBuilder({ schema, kind: 'entity', maxKeys: 10_000 });
 * s.reset(snapshot.messages, snapshot.epoch, snapshot.lastOffset);
 * s.apply(liveItems, epoch);   // rows updated, added or removed
 * panelData = s.frame();       // one row per live key
 */
// First: lets @grafana/data load under plain Node (benchmarks); a no-op in browsers.
import './node-env';
import { type DataFrame, type QueryResultMetaNotice, createDataFrame } from '@grafana/data';
import type { ChannelKind, ChannelSchema, MessageItem } from '@streamgauge/protocol';
import { type FieldSpec, fieldSpecs } from './field-mapping';
import { type MessagePredicate, compileFilter } from './message-filter';

export const CURRENT_STATE_DEFAULTS = {
  /** Keys kept per query at most; further keys are left out and a notice says so. */
  maxKeys: 10_000,
};

export interface CurrentStateOptions {
  schema: ChannelSchema;
  kind: ChannelKind;
  refId?: string;
  name?: string;
  fields?: string[];
  /** Query filter (message-filter.ts): a key whose latest message does not match has no row. */
  filter?: string;
  maxKeys?: number;
}

export class CurrentStateBuilder {
  private readonly rows = new Map<string, MessageItem>();
  private specs: FieldSpec[];
  private schema: ChannelSchema;
  private readonly predicate?: MessagePredicate;
  private readonly maxKeys: number;
  private notices: QueryResultMetaNotice[] = [];
  /** Keys seen but not kept since the last reset (over maxKeys). */
  private readonly dropped = new Set<string>();
  epoch: string | undefined;
  lastOffset = 0;

  constructor(private readonly o: CurrentStateOptions) {
    this.maxKeys = o.maxKeys ?? CURRENT_STATE_DEFAULTS.maxKeys;
    if (!Number.isSafeInteger(this.maxKeys) || this.maxKeys < 1) {
      throw new RangeError(`maxKeys must be an integer >= 1, got ${o.maxKeys}`);
    }
    this.schema = o.schema;
    this.predicate = compileFilter(o.filter, o.schema.keyField);
    this.specs = fieldSpecs(o.schema, { fields: o.fields, kind: o.kind });
  }

  get size(): number {
    return this.rows.size;
  }

  /** Keys left out because of maxKeys (0 when everything fits). */
  get droppedKeys(): number {
    return this.dropped.size;
  }

  private keyOf(m: MessageItem): string | undefined {
    if (m.key !== undefined) {
      return m.key;
    }
    const kf = this.schema.keyField;
    const v = kf ? m.data[kf] : undefined;
    return v === undefined || v === null ? undefined : String(v);
  }

  /** Starts over from a snapshot (subscribe, or a rebuild after recovered: false). */
  reset(snapshot: readonly MessageItem[], epoch: string, lastOffset: number): void {
    this.rows.clear();
    this.dropped.clear();
    this.epoch = epoch;
    this.lastOffset = 0;
    this.applyItems(snapshot);
    this.lastOffset = lastOffset;
  }

  /**
   * Applies changes in offset order; returns whether a row changed. Changes at or before the
   * position are skipped (the seam between snapshot and live), and per key an older change never
   * overwrites a newer one (a snapshot may hold changes newer than its position).
   */
  apply(items: readonly MessageItem[], epoch: string): boolean {
    if (this.epoch !== undefined && epoch !== this.epoch) {
      // Offsets of another epoch mean nothing here: the caller rebuilds from a snapshot.
      throw new Error(`epoch ${epoch} differs from ${this.epoch}: rebuild from a snapshot`);
    }
    this.epoch = epoch;
    const fresh = items.filter((m) => m.offset > this.lastOffset);
    if (!fresh.length) {
      return false;
    }
    this.lastOffset = fresh[fresh.length - 1].offset;
    return this.applyItems(fresh);
  }

  private applyItems(items: readonly MessageItem[]): boolean {
    let changed = false;
    for (const m of items) {
      const key = this.keyOf(m);
      if (key === undefined) {
        continue;
      }
      const row = this.rows.get(key);
      if (row && row.offset >= m.offset) {
        continue;
      }
      if (m.deleted || (this.predicate && !this.predicate(m))) {
        changed = this.rows.delete(key) || changed;
        this.dropped.delete(key);
        continue;
      }
      if (!row && this.rows.size >= this.maxKeys) {
        this.dropped.add(key);
        continue;
      }
      this.rows.set(key, m);
      changed = true;
    }
    return changed;
  }

  /** A schema with more fields (inferred later): the columns follow. */
  setSchema(schema: ChannelSchema): void {
    this.schema = schema;
    this.specs = fieldSpecs(schema, { fields: this.o.fields, kind: this.o.kind });
  }

  setNotices(notices: QueryResultMetaNotice[]): void {
    this.notices = notices;
  }

  /** The notice for keys over maxKeys, or undefined. */
  keysNotice(): QueryResultMetaNotice | undefined {
    if (!this.dropped.size) {
      return undefined;
    }
    return {
      severity: 'warning',
      text: `Streamgauge: ${this.o.name ?? 'this channel'} has more than ${this.maxKeys} keys; ${this.dropped.size} are not shown. Raise "Max keys" in the query (up to 100,000) or filter the keys.`,
    };
  }

  /** One row per key, sorted by key (stable across rebuilds). A new frame each call (panels compare by identity). */
  frame(): DataFrame {
    const keys = [...this.rows.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const rows = keys.map((k) => this.rows.get(k)!);
    const notices = [...this.notices, ...(this.keysNotice() ? [this.keysNotice()!] : [])];
    return createDataFrame({
      name: this.o.name,
      refId: this.o.refId,
      meta: {
        ...(notices.length ? { notices } : {}),
        custom: { epoch: this.epoch, lastOffset: this.lastOffset, keys: this.rows.size, view: 'current' },
      },
      fields: this.specs.map((s) => {
        const values = new Array(rows.length);
        for (let i = 0; i < rows.length; i++) {
          values[i] = s.read(rows[i]);
        }
        return { name: s.name, type: s.type, config: s.config, values };
      }),
    });
  }
}
