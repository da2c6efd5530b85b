import type { Registry } from 'prom-client';
import type { PublishItem, PublishResult } from '@streamgauge/protocol';
import type { Channel } from '../channels/channel-registry';
import type { ChannelDefinition } from '../config/defaults';
import type { AppendListener } from '../hub/hub';
import type { DueExpiry, ReadOptions, ReadResult, StoredMessage } from '../log/event-log';
import type { Logger } from '../logger';

/**
 * What the telemetry engine gets (like a source's SourceContext): declare and publish its
 * channels, see every appended message, look channels up and read their latest keys. Not the hub,
 * the registry or the log themselves.
 */
export interface TelemetryContext {
  declare(def: ChannelDefinition): Promise<void>;
  /**
   * Publishes a batch; with `ifExpiresAt` (expiry deletes), each item is appended only if its key's
   * deadline in the store is still that one.
   */
  publish(items: PublishItem[], ifExpiresAt?: readonly number[]): Promise<PublishResult[]>;
  /**
   * Every message appended (locally or by another instance); returns the unlisten. With Redis the
   * two can arrive out of offset order (in-order.ts puts them back in order).
   */
  onAppend(listener: AppendListener): () => void;
  /** Reads a channel's history (EventLog.read): fills a gap in what onAppend delivered. */
  read(channel: string, options: ReadOptions): Promise<ReadResult>;
  channel(name: string): Channel | undefined;
  channels(): Iterable<Channel>;
  /** Latest live message per key of a state or entity channel. */
  latestByKey(channel: string): Promise<StoredMessage[]>;
  /** Entity expiries whose deadline passed, as the store keeps them (EventLog.dueExpiries). */
  dueExpiries(now: number, limit: number): Promise<DueExpiry[]>;
  readonly logger: Logger;
  /** The collector's prom-client Registry (metric rules register here). */
  readonly metrics: Registry;
}
