import type { Registry } from 'prom-client';
import type { PublishItem, PublishResult } from '@streamgauge/protocol';
import type { ChannelDefinition } from '../config/defaults';
import type { ReadOptions, ReadResult } from '../log/event-log';
import type { Logger } from '../logger';

/**
 * The narrow context every source gets (agreed in HELPERS.md): it declares and publishes its
 * channels, reads their history back, and stops on `signal`. Sources never see the hub, the log
 * or the whole config; each is created with its own config section.
 */
export interface SourceContext {
  /** Creates or updates a channel definition; idempotent. */
  declare(def: ChannelDefinition): Promise<void>;
  /** Publishes one batch, validated whole and stored atomically; resolves with the acks once stored. */
  publish(items: PublishItem[]): Promise<PublishResult[]>;
  /** Reads a channel's history (same options and result as EventLog.read), e.g. to restore progress. */
  read(channel: string, options: ReadOptions): Promise<ReadResult>;
  /**
   * Starts a new epoch for a channel: its history is dropped, offsets restart at 1, subscribers are
   * told (recovered:false, reason epoch_changed) exactly as when the store lost data.
   */
  resetEpoch(channel: string): Promise<void>;
  /** Largest batch publish() accepts (limits.maxBatch). */
  readonly maxBatch: number;
  readonly logger: Logger;
  /** The collector's prom-client Registry. */
  readonly metrics: Registry;
  /** Aborted when the collector stops (or, with ownership, when this instance loses the lease). */
  readonly signal: AbortSignal;
}

/** Anything that produces messages inside the collector (a chain follower, demo traffic). */
export interface Source {
  readonly name: string;
  /** Starts the source; resolves with its stop function once it runs. */
  start(ctx: SourceContext): Promise<() => Promise<void> | void>;
}
