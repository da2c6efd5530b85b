/**
 * The live keys of state and entity channels, in memory: what gauges over state, entity
 * aggregates, durations on delete and TTL expiry need. Filled from the log's latest-per-key table
 * at start, then kept current from every append. Bounded by `maxTrackedKeys` per channel.
 */
import type { Logger } from '../logger';

export interface KeyRecord {
  data: Record<string, unknown>;
  offset: number;
  ts: number;
  /** Server time of the first upsert seen for this key (duration fallback when no start field). */
  firstTs: number;
}

export class ChannelKeys {
  readonly records = new Map<string, KeyRecord>();
  /** Highest offset applied: messages at or below it were already seen (snapshot at start). */
  appliedOffset = 0;
  private warned = false;

  constructor(
    readonly channel: string,
    readonly kind: 'state' | 'entity',
    private readonly maxKeys: number,
    private readonly logger: Logger,
  ) {}

  /** Upserts a key; returns the previous record (undefined when new or not tracked). */
  upsert(key: string, data: Record<string, unknown>, offset: number, ts: number): { prev?: KeyRecord; tracked: boolean } {
    const prev = this.records.get(key);
    if (!prev && this.records.size >= this.maxKeys) {
      if (!this.warned) {
        this.warned = true;
        this.logger.warn(
          { channel: this.channel, maxTrackedKeys: this.maxKeys },
          'telemetry.maxTrackedKeys reached: new keys of this channel are not tracked (metrics, aggregates, TTL)',
        );
      }
      return { tracked: false };
    }
    // Expiry deadlines live in the store (EventLog.dueExpiries), not here.
    this.records.set(key, { data, offset, ts, firstTs: prev?.firstTs ?? ts });
    return { prev, tracked: true };
  }

  delete(key: string): KeyRecord | undefined {
    const prev = this.records.get(key);
    this.records.delete(key);
    return prev;
  }
}
