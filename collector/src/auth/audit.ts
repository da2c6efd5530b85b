/**
 * Audit lines: one structured log line per refused authentication and per admin action, always
 * with `audit: true` and an `event`, so they can be filtered out of the stream of logs. They name
 * the key (its configured name), never the key or token itself.
 */
import type { Logger } from '../logger';

export type AuditEvent =
  | 'auth_refused'
  | 'token_issued'
  | 'token_refused'
  | 'ticket_issued'
  | 'admin_keys_listed'
  | 'metrics_auth_refused'
  | 'rate_limited';

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

export function audit(logger: Logger, event: AuditEvent, fields: AuditFields, level: 'info' | 'warn' = 'warn'): void {
  const clean: Record<string, unknown> = { audit: true, event };
  for (const [k, v] of Object.entries(fields)) {
    if (!SECRET_FIELDS.has(k) && v !== undefined) {
      clean[k] = v;
    }
  }
  logger[level](clean, `audit: ${event}`);
}
