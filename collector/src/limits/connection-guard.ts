/**
 * The rate limits the transports ask before doing work: new connections per client IP (WebSocket
 * upgrade and SSE), frames per WebSocket connection, publish requests per key. Each refusal is
 * counted in streamgauge_rate_limited_total{kind} and has a documented code (docs/security.md).
 */
import { ErrorCode } from '@streamgauge/protocol';
import type { LimitsConfig } from '../auth/config';
import type { SecurityMetrics } from '../auth/security-metrics';
import { SgError } from '../errors';
import { KeyedLimiter } from './keyed-limiter';
import { TokenBucket } from './token-bucket';

/** What a WebSocket session does with one incoming frame. */
export type FrameDecision = 'accept' | 'refuse' | 'refuse-quietly' | 'close';

/** Per-connection frame limiter: refuse over the rate, close after `wsMaxRefusedFrames` refusals in a row. */
export class FrameLimiter {
  private readonly bucket?: TokenBucket;
  private refusedInARow = 0;

  constructor(
    private readonly l: LimitsConfig,
    private readonly metrics?: SecurityMetrics,
  ) {
    if (l.wsMessagesPerSecond > 0) {
      this.bucket = new TokenBucket(l.wsMessagesPerSecond, l.wsMessagesBurst);
    }
  }

  take(now = Date.now()): FrameDecision {
    if (!this.bucket || this.bucket.take(now)) {
      this.refusedInARow = 0;
      return 'accept';
    }
    this.metrics?.rateLimited.inc({ kind: 'ws_message' });
    this.refusedInARow++;
    if (this.refusedInARow >= this.l.wsMaxRefusedFrames) {
      return 'close';
    }
    // One error frame per run of refusals: answering each refused frame would let a flooding
    // client make the collector write as fast as it reads.
    return this.refusedInARow === 1 ? 'refuse' : 'refuse-quietly';
  }
}

export class ConnectionGuard {
  private readonly perIp: KeyedLimiter;
  private readonly perPublisher: KeyedLimiter;
  private readonly perTicketMinter: KeyedLimiter;

  constructor(
    readonly limits: LimitsConfig,
    readonly metrics?: SecurityMetrics,
  ) {
    this.perIp = new KeyedLimiter({
      ratePerSecond: limits.connectionsPerIpPerSecond,
      burst: limits.connectionsPerIpBurst,
      maxKeys: limits.maxTrackedIps,
    });
    this.perPublisher = new KeyedLimiter({
      ratePerSecond: limits.publishRequestsPerSecond,
      burst: limits.publishBurst,
      maxKeys: limits.maxTrackedPublishers,
    });
    this.perTicketMinter = new KeyedLimiter({
      ratePerSecond: limits.ticketsPerSecond,
      burst: limits.ticketsBurst,
      maxKeys: limits.maxTrackedPublishers,
    });
  }

  /** Tracked IPs and publishers (for tests of the bounds). */
  get tracked(): { ips: number; publishers: number } {
    return { ips: this.perIp.size, publishers: this.perPublisher.size };
  }

  /** Throws SG_RATE_LIMITED (details.retryAfterSeconds) when `ip` opened too many connections this second. */
  admitConnection(ip: string | undefined): void {
    const d = this.perIp.take(ip ?? 'unknown');
    if (!d.ok) {
      this.metrics?.rateLimited.inc({ kind: 'connection' });
      throw rateLimited(
        `too many new connections from this address (auth.limits.connectionsPerIpPerSecond = ${this.limits.connectionsPerIpPerSecond})`,
        d.retryAfterMs,
      );
    }
  }

  /**
   * The rate limit a route declares (route-access.ts `limit`), for the caller `name` (a key name):
   * publish requests, or SSE tickets minted. Throws SG_RATE_LIMITED with retryAfterSeconds.
   */
  admitRoute(limit: 'publish' | 'ticket', name: string): void {
    const [limiter, option, rate, what] =
      limit === 'publish'
        ? [this.perPublisher, 'publishRequestsPerSecond', this.limits.publishRequestsPerSecond, 'publish requests']
        : [this.perTicketMinter, 'ticketsPerSecond', this.limits.ticketsPerSecond, 'stream tickets'];
    const d = limiter.take(name);
    if (!d.ok) {
      this.metrics?.rateLimited.inc({ kind: limit });
      throw rateLimited(`too many ${what} for this key (auth.limits.${option} = ${rate})`, d.retryAfterMs);
    }
  }

  frameLimiter(): FrameLimiter {
    return new FrameLimiter(this.limits, this.metrics);
  }
}

export function rateLimited(message: string, retryAfterMs: number): SgError {
  return new SgError(ErrorCode.RateLimited, message, { details: { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) } });
}

/** Seconds for a Retry-After header, from an SG_RATE_LIMITED error. */
export function retryAfterSeconds(err: SgError): number | undefined {
  const d = err.details as { retryAfterSeconds?: number } | undefined;
  return err.code === ErrorCode.RateLimited ? (d?.retryAfterSeconds ?? 1) : undefined;
}
