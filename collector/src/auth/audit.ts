/**
 * Audit lines: one structured log line per refused authentication and per admin action, always
 * with `audit: true` and an `event`, so they can be filtered out of the stream of logs. They name
 * the key (its configured name), never the key or token itself.
 */
import { TokenBucket } from '../limits/token-bucket';
import type { Logger } from '../logger';

export type AuditEvent =
  'auth_refused' | 'token_issued' | 'token_refused' | 'ticket_issued' | 'admin_keys_listed' | 'metrics_auth_refused' | 'audit_suppressed';

export interface AuditFields {
  /** Key or token subject (the configured key name). */
  principal?: string;
  transport?: string;
  remote?: string;
  reason?: string;
  [k: string]: unknown;
}

/** Fields that could carry a secret are dropped whatever the caller passed. */
const SECRET_FIELDS = new Set(['token', 'key', 'apiKey', 'secret', 'ticket', 'authorization', 'headers']);

/**
 * Audit lines per second, and burst, over the whole process: a client sending bad credentials in a
 * loop must not turn the log into its amplifier. Lines over the rate are counted and reported in
 * one `audit_suppressed` line when the rate allows again; the metrics still count every refusal.
 */
export const AUDIT_LINES_PER_SECOND = 50;
export const AUDIT_BURST = 200;
const budget = new WeakMap<Logger, { bucket: TokenBucket; suppressed: number }>();

export function audit(logger: Logger, event: AuditEvent, fields: AuditFields, level: 'info' | 'warn' = 'warn'): void {
  let b = budget.get(logger);
  if (!b) {
    budget.set(logger, (b = { bucket: new TokenBucket(AUDIT_LINES_PER_SECOND, AUDIT_BURST), suppressed: 0 }));
  }
  if (!b.bucket.take()) {
    b.suppressed++;
    return;
  }
  if (b.suppressed > 0) {
    logger.warn({ audit: true, event: 'audit_suppressed', suppressed: b.suppressed }, 'audit: lines suppressed over the audit rate');
    b.suppressed = 0;
  }
  const clean: Record<string, unknown> = { audit: true, event };
  for (const [k, v] of Object.entries(fields)) {
    if (!SECRET_FIELDS.has(k) && v !== undefined) {
      clean[k] = v;
    }
  }
  logger[level](clean, `audit: ${event}`);
}
