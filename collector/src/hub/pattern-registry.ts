/**
 * Pattern watches of every session: told of each channel created after they subscribed, so that a
 * pattern also covers channels that do not exist yet.
 */
import { matchChannel } from '@streamgauge/protocol';
import type { Channel } from '../channels/channel-registry';

export interface PatternWatch {
  readonly pattern: string;
  /** A channel matching the pattern was created. */
  onChannel(c: Channel): void;
}

export class PatternRegistry {
  private readonly watches = new Set<PatternWatch>();

  /** Watches a pattern; returns the unwatch. */
  watch(w: PatternWatch): () => void {
    this.watches.add(w);
    return () => this.watches.delete(w);
  }

  /** A channel was created: tell every pattern that matches it. */
  channelAdded(c: Channel): void {
    for (const w of [...this.watches]) {
      if (matchChannel(w.pattern, c.name)) {
        w.onChannel(c);
      }
    }
  }
}
