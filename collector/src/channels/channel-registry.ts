/**
 * The channels the collector knows: kind, schema, retention and live statistics. Channels come
 * from config definitions, from sources declaring them at start, or from a first publish
 * (when channels.autoCreate is on).
 *
 * Position state (epoch, offsets, count, last timestamp) is not kept here: the event log owns it
 * (SQLite or Redis), and a Channel's getters read it through the log, so nothing syncs copies.
 */
import type { ChannelInfo, ChannelKind, ChannelSchema, FieldSchema } from '@streamgauge/protocol';
import type { ChannelDefinition } from '../config/defaults';
import type { ChannelMeta, RetentionPolicy } from '../log/event-log';
import { checkAgainstSchema } from './schema';

export interface Channel {
  readonly name: string;
  kind: ChannelKind;
  description?: string;
  schema: ChannelSchema;
  retention: RetentionPolicy;
  /** Read through the log, which owns them. */
  readonly epoch: string;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly count: number;
  readonly lastTs: number | null;
  /** JSON of the last message item, for the status snapshot, with its offset and epoch. */
  lastItem: string | null;
  lastItemOffset: number;
  lastItemEpoch: string;
  /** Accepted messages in each of the last 60 seconds (ring), for `rate`. */
  readonly perSecond: Uint32Array;
  perSecondAt: number;
}

const RATE_WINDOW_S = 60;

export class ChannelRegistry {
  private readonly channels = new Map<string, Channel>();
  private readonly listeners = new Set<(c: Channel) => void>();

  constructor(
    private readonly defaults: RetentionPolicy,
    private readonly maxInferredFields: number,
    /** The owner of every channel's position state. */
    private readonly log: { meta(channel: string): ChannelMeta | undefined },
  ) {}

  get size(): number {
    return this.channels.size;
  }

  get(name: string): Channel | undefined {
    return this.channels.get(name);
  }

  all(): IterableIterator<Channel> {
    return this.channels.values();
  }

  /** Called with every channel added from now on (pattern subscriptions use it). */
  onAdded(listener: (c: Channel) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Adds a channel the log holds (`meta`), or updates its definition. A definition's schema
   * replaces an inferred one; declared fields stay declared.
   */
  upsert(meta: ChannelMeta, def?: ChannelDefinition): Channel {
    let c = this.channels.get(meta.name);
    const isNew = !c;
    if (!c) {
      const log = this.log;
      const name = meta.name;
      // The log's view, or the one it gave when the channel was added (a log always holds its channels).
      const m = (): ChannelMeta => log.meta(name) ?? meta;
      c = {
        name,
        kind: 'stream',
        schema: { fields: [], declared: false },
        retention: { ...this.defaults },
        get epoch() {
          return m().epoch;
        },
        get firstOffset() {
          return m().firstOffset;
        },
        get lastOffset() {
          return m().lastOffset;
        },
        get count() {
          return m().count;
        },
        get lastTs() {
          return m().lastTs;
        },
        lastItem: null,
        lastItemOffset: 0,
        lastItemEpoch: meta.epoch,
        perSecond: new Uint32Array(RATE_WINDOW_S),
        perSecondAt: Math.floor(Date.now() / 1000),
      };
      this.channels.set(name, c);
    }
    if (def) {
      c.kind = def.kind ?? c.kind;
      c.description = def.description ?? c.description;
      if (def.fields?.length) {
        c.schema = {
          fields: def.fields.map((f) => ({ ...f })),
          declared: true,
          timeField: def.timeField,
          keyField: def.keyField,
        };
      } else {
        c.schema = {
          ...c.schema,
          timeField: def.timeField ?? c.schema.timeField,
          keyField: def.keyField ?? c.schema.keyField,
        };
      }
      c.retention = {
        maxMessages: def.retention?.maxMessages ?? c.retention.maxMessages,
        maxAgeSeconds: def.retention?.maxAgeSeconds ?? c.retention.maxAgeSeconds,
      };
    }
    if (isNew) {
      for (const l of this.listeners) {
        l(c);
      }
    }
    return c;
  }

  /** Validates one message's data; grows an inferred schema. Returns a problem or null. */
  check(c: Channel, data: Record<string, unknown>): { problem: string | null; added: FieldSchema[] } {
    return checkAgainstSchema(c.schema, data, this.maxInferredFields);
  }

  addFields(c: Channel, added: FieldSchema[]): void {
    const names = new Set(c.schema.fields.map((f) => f.name));
    const fresh = added.filter((f) => !names.has(f.name));
    if (fresh.length) {
      c.schema = { ...c.schema, fields: [...c.schema.fields, ...fresh] };
    }
  }

  /** Records accepted messages for the status rate. */
  count(c: Channel, n: number, nowMs: number): void {
    const sec = Math.floor(nowMs / 1000);
    advance(c, sec);
    c.perSecond[sec % RATE_WINDOW_S] += n;
  }

  rate(c: Channel, nowMs: number): number {
    const sec = Math.floor(nowMs / 1000);
    advance(c, sec);
    let sum = 0;
    for (let i = 0; i < RATE_WINDOW_S; i++) {
      if (i !== sec % RATE_WINDOW_S) {
        sum += c.perSecond[i];
      }
    }
    return Math.round((sum / (RATE_WINDOW_S - 1)) * 1000) / 1000;
  }

  info(c: Channel, nowMs: number): ChannelInfo {
    return {
      name: c.name,
      kind: c.kind,
      epoch: c.epoch,
      schema: c.schema,
      firstOffset: c.count === 0 ? c.lastOffset + 1 : c.firstOffset,
      lastOffset: c.lastOffset,
      count: c.count,
      lastTs: c.lastTs,
      rate: this.rate(c, nowMs),
      retention: { ...c.retention },
      ...(c.description ? { description: c.description } : {}),
    };
  }
}

/** Zeroes the seconds that passed since the ring was last touched. */
function advance(c: Channel, sec: number): void {
  const gap = sec - c.perSecondAt;
  if (gap <= 0) {
    return;
  }
  for (let i = 1; i <= Math.min(gap, RATE_WINDOW_S); i++) {
    c.perSecond[(c.perSecondAt + i) % RATE_WINDOW_S] = 0;
  }
  c.perSecondAt = sec;
}
