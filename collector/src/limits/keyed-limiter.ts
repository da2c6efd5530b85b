/**
 * One token bucket per key (client IP, API key name), in a bounded map: at most `maxKeys` buckets,
 * the least recently used forgotten first. A forgotten bucket starts full again, so a client that
 * rotates through more than maxKeys addresses gets at most one extra burst per address: the
 * map, not the attacker, decides how much memory the limiter uses.
 */
import { TokenBucket } from './token-bucket';

export interface KeyedLimiterOptions {
  /** Refill rate; 0 turns the limiter off. */
  ratePerSecond: number;
  burst: number;
  maxKeys: number;
}

export type LimitDecision = { ok: true } | { ok: false; retryAfterMs: number };

export class KeyedLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly o: KeyedLimiterOptions) {}

  get size(): number {
    return this.buckets.size;
  }

  take(key: string, now = Date.now()): LimitDecision {
    if (this.o.ratePerSecond <= 0) {
      return { ok: true };
    }
    let b = this.buckets.get(key);
    if (b) {
      // Re-insert: Map keeps insertion order, so the first entry is the least recently used.
      this.buckets.delete(key);
    } else {
      b = new TokenBucket(this.o.ratePerSecond, this.o.burst, now);
      if (this.buckets.size >= this.o.maxKeys) {
        this.evict(now);
      }
    }
    this.buckets.set(key, b);
    return b.take(now) ? { ok: true } : { ok: false, retryAfterMs: b.retryAfterMs(now) };
  }

  private evict(now: number): void {
    // Drop full buckets among the oldest first (no decision changes); else the oldest one.
    let scanned = 0;
    for (const [k, b] of this.buckets) {
      if (b.full(now)) {
        this.buckets.delete(k);
        return;
      }
      if (++scanned >= 16) {
        break;
      }
    }
    const oldest = this.buckets.keys().next();
    if (!oldest.done) {
      this.buckets.delete(oldest.value);
    }
  }
}
