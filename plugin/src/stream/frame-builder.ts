/**
 * Message -> frame conversion, pure and usable from Node (benchmarks, tests): takes a channel schema
 * and batches of MessageItem, appends them as columns to a StreamingDataFrame bounded by a row count
 * (`maxLength`) and a time window (`maxDeltaMs`). Duplicate and out-of-order offsets are dropped, so
 * history, replay and live can overlap at their seams without showing a row twice.
 *
 * @example
 * const b = new FrameBuilder({ schema, refId: 'A', maxLength: 1000 });
 * b.append(items);            // rows appended (after filter and de-duplication)
 * panelData = b.frame;        // a StreamingDataFrame
 */
// First: lets @grafana/data load under plain Node (benchmarks); a no-op in browsers.
import './node-env';
import { type DataFrame, type QueryResultMetaNotice, StreamingDataFrame, StreamingFrameAction } from '@grafana/data';
import type { ChannelKind, ChannelSchema, MessageItem } from '@streamgauge/protocol';
import { type FieldSpec, fieldSpecs, isLogsSchema } from './field-mapping';
import { type MessagePredicate, compileFilter } from './message-filter';

export interface FrameBuilderOptions {
  schema: ChannelSchema;
  refId?: string;
  /** Frame name (the channel): legends and the table's frame picker show it. */
  name?: string;
  kind?: ChannelKind;
  /** Rows kept at most; the oldest are dropped first. Default 1000. */
  maxLength?: number;
  /** Time window kept, ms, measured back from the newest row. Default: unbounded. */
  maxDeltaMs?: number;
  /** Columns to keep besides time; empty: all. */
  fields?: string[];
  /** Query filter text (message-filter.ts). */
  filter?: string;
  /** Annotation frames (field-mapping.ts). */
  annotation?: { textField?: string; tags?: string[] };
}

export const FRAME_BUILDER_DEFAULTS = {
  maxLength: 1_000,
  maxDeltaMs: Infinity,
};

export class FrameBuilder {
  private specs: FieldSpec[];
  private schema: ChannelSchema;
  private readonly predicate?: MessagePredicate;
  private readonly maxLength: number;
  private readonly maxDeltaMs: number;
  private notices: QueryResultMetaNotice[] = [];
  private streaming: StreamingDataFrame;
  /** Position of the last row appended: the de-duplication cursor. */
  epoch: string | undefined;
  lastOffset = 0;
  /** Rows appended since construction or the last reset (after filter and de-duplication). */
  appended = 0;

  constructor(private readonly o: FrameBuilderOptions) {
    this.maxLength = o.maxLength ?? FRAME_BUILDER_DEFAULTS.maxLength;
    this.maxDeltaMs = o.maxDeltaMs && o.maxDeltaMs > 0 ? o.maxDeltaMs : FRAME_BUILDER_DEFAULTS.maxDeltaMs;
    if (!Number.isSafeInteger(this.maxLength) || this.maxLength < 1) {
      throw new RangeError(`maxLength must be an integer >= 1, got ${o.maxLength}`);
    }
    this.predicate = compileFilter(o.filter, o.schema.keyField);
    this.schema = o.schema;
    this.specs = fieldSpecs(o.schema, {
      fields: o.fields,
      kind: o.kind,
      annotation: o.annotation,
      deletedMarker: true,
    });
    this.streaming = this.emptyFrame();
  }

  /** The bounded frame. The same object is mutated by append(); panels get it on each emission. */
  get frame(): DataFrame {
    return this.streaming;
  }

  get length(): number {
    return this.streaming.length;
  }

  get fieldNames(): string[] {
    return this.specs.map((s) => s.name);
  }

  private emptyFrame(): StreamingDataFrame {
    const frame = StreamingDataFrame.fromDataFrameJSON(
      {
        schema: {
          name: this.o.name,
          refId: this.o.refId,
          meta: this.meta(),
          fields: this.specs.map((s) => ({ name: s.name, type: s.type, config: s.config })),
        },
      },
      { maxLength: this.maxLength, maxDelta: this.maxDeltaMs, action: StreamingFrameAction.Append }
    );
    frame.name = this.o.name;
    return frame;
  }

  private meta() {
    return {
      ...(isLogsSchema(this.schema) ? { preferredVisualisationType: 'logs' as const } : {}),
      ...(this.notices.length ? { notices: [...this.notices] } : {}),
      custom: { epoch: this.epoch, lastOffset: this.lastOffset },
    };
  }

  /**
   * Appends messages in offset order. Returns the number of rows appended. Messages at or before
   * the last appended offset of the same epoch are dropped; a different epoch must go through
   * reset() first (offsets restart in a new epoch).
   */
  append(items: readonly MessageItem[], epoch?: string): number {
    if (epoch !== undefined && this.epoch !== undefined && epoch !== this.epoch) {
      // Offsets of a new epoch are not comparable with ours: start the cursor over, keep the rows.
      this.lastOffset = 0;
    }
    if (epoch !== undefined) {
      this.epoch = epoch;
    }
    const rows: MessageItem[] = [];
    let last = this.lastOffset;
    for (const m of items) {
      if (m.offset <= last) {
        continue;
      }
      last = m.offset;
      // An entity delete is a row too (the deleted marker, field-mapping.ts): a changes view shows it.
      if (this.predicate && !this.predicate(m)) {
        continue;
      }
      rows.push(m);
    }
    this.lastOffset = last;
    this.streaming.meta = { ...this.streaming.meta, custom: { epoch: this.epoch, lastOffset: last } };
    if (!rows.length) {
      return 0;
    }
    // Convert only the rows that can be kept (a history page may be larger than the buffer).
    const start = this.streaming.length === 0 && rows.length > this.maxLength ? rows.length - this.maxLength : 0;
    const n = rows.length - start;
    const values: unknown[][] = this.specs.map((spec) => {
      const col = new Array(n);
      const read = spec.read;
      for (let i = 0; i < n; i++) {
        col[i] = read(rows[start + i]);
      }
      return col;
    });
    // pushNewValues rather than push(): push's parameter type changed between Grafana 12 and 13
    // (levitate flags it); pushNewValues appends with the same maxLength/maxDelta trimming.
    this.streaming.pushNewValues(values);
    // Reducers (stat, gauge: "last") cache per field; new rows invalidate them.
    this.streaming.resetStateCalculations();
    this.appended += n;
    return n;
  }

  /** A schema with more fields (inferred later, or declared after a restart): keeps the rows by name. */
  setSchema(schema: ChannelSchema): boolean {
    const next = fieldSpecs(schema, {
      fields: this.o.fields,
      kind: this.o.kind,
      annotation: this.o.annotation,
      deletedMarker: true,
    });
    const same =
      next.length === this.specs.length &&
      next.every((s, i) => s.name === this.specs[i].name && s.type === this.specs[i].type);
    this.schema = schema;
    if (same) {
      return false;
    }
    const old = this.streaming;
    this.specs = next;
    const fresh = this.emptyFrame();
    const columns = next.map((spec) => {
      const prev = old.fields.find((f) => f.name === spec.name && f.type === spec.type);
      return prev ? [...prev.values] : new Array(old.length).fill(undefined);
    });
    if (old.length) {
      fresh.pushNewValues(columns);
    }
    fresh.meta = { ...old.meta, ...this.meta() };
    this.streaming = fresh;
    return true;
  }

  /** Notices shown on the panel (e.g. a lost position, polling fallback). Replaces the previous set. */
  setNotices(notices: QueryResultMetaNotice[]): void {
    this.notices = notices;
    this.streaming.meta = { ...this.streaming.meta, notices: notices.length ? [...notices] : undefined };
  }

  get currentNotices(): readonly QueryResultMetaNotice[] {
    return this.notices;
  }

  /** Drops every row and the cursor (a refill follows). Notices are kept. */
  reset(): void {
    this.epoch = undefined;
    this.lastOffset = 0;
    this.appended = 0;
    this.streaming = this.emptyFrame();
  }
}
