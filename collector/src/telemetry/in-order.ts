/**
 * Applies one channel's messages exactly once and in offset order.
 *
 * With several instances on Redis, an instance learns of its own appends from the append's reply and
 * of other instances' appends from notices on another connection, so the two can arrive out of
 * order: an expiry delete this instance appended can arrive after a newer upsert published through
 * another instance. Skipping what arrives "late" made the live aggregates count deleted entities
 * (issue 20's failover test). A message past a gap therefore waits while the gap is read from the
 * log, which already holds every acknowledged message; a gap the log no longer holds (retention)
 * is skipped.
 */
import type { StoredMessage } from '../log/event-log';

/** How many out-of-order messages wait at most; past that they are read back from the log instead. */
export const MAX_WAITING = 10_000;

export interface InOrderOptions {
  /** Offset already applied (the snapshot loaded at start). */
  applied: number;
  /** Reads messages with offset > after, oldest first (EventLog.read). */
  read(after: number): Promise<StoredMessage[]>;
  apply(m: StoredMessage): void;
  onError(err: unknown): void;
}

export class InOrder {
  private applied: number;
  private readonly waiting = new Map<number, StoredMessage>();
  private filling = false;
  /** Messages were dropped at MAX_WAITING: the next fill reads them from the log. */
  private overflowed = false;

  constructor(private readonly o: InOrderOptions) {
    this.applied = o.applied;
  }

  push(msgs: readonly StoredMessage[]): void {
    for (const m of msgs) {
      if (m.offset > this.applied && this.waiting.size < MAX_WAITING) {
        this.waiting.set(m.offset, m);
      } else if (m.offset > this.applied) {
        this.overflowed = true;
      }
    }
    this.drain();
  }

  private drain(): void {
    for (let m = this.waiting.get(this.applied + 1); m; m = this.waiting.get(this.applied + 1)) {
      this.waiting.delete(m.offset);
      this.applied = m.offset;
      this.o.apply(m);
    }
    if ((this.waiting.size > 0 || this.overflowed) && !this.filling) {
      void this.fill();
    }
  }

  private async fill(): Promise<void> {
    this.filling = true;
    this.overflowed = false;
    try {
      for (const m of await this.o.read(this.applied)) {
        if (m.offset > this.applied && !this.waiting.has(m.offset) && this.waiting.size < MAX_WAITING) {
          this.waiting.set(m.offset, m);
        }
      }
    } catch (err) {
      this.o.onError(err);
    }
    if (!this.waiting.has(this.applied + 1) && this.waiting.size > 0) {
      // The log no longer holds the gap (retention, or a read that failed): go on after it.
      this.applied = Math.min(...this.waiting.keys()) - 1;
    }
    this.filling = false;
    this.drain();
  }
}
