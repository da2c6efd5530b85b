/**
 * Counters for every security refusal, in the collector's own registry. Labels are fixed small
 * sets (a transport, a reason, a limiter kind): never a key name, a client address or a channel.
 */
import { Counter, type Registry } from 'prom-client';

/** What a rate limiter or a bound refused (the `kind` label; every value starts at 0 where it is checked). */
export type RateLimitKind = 'connection' | 'http_connection' | 'ws_message' | 'publish' | 'ticket' | 'body_bytes';

export interface SecurityMetrics {
  /** Refused credentials, by transport (http, ws, sse, metrics) and reason (missing, invalid, expired, forbidden). */
  authFailures: Counter<'transport' | 'reason'>;
  /** Requests, frames or connections refused by a rate limiter, by kind. */
  rateLimited: Counter<'kind'>; // kind: RateLimitKind
  /** Tokens and SSE tickets minted, by kind (token, ticket). */
  issued: Counter<'kind'>;
}

export function createSecurityMetrics(registry: Registry): SecurityMetrics {
  const registers = [registry];
  return {
    authFailures: new Counter({
      name: 'streamgauge_auth_failures_total',
      help: 'Refused credentials (API key, token, stream ticket, metrics bearer), by transport and reason.',
      labelNames: ['transport', 'reason'],
      registers,
    }),
    rateLimited: new Counter({
      name: 'streamgauge_rate_limited_total',
      help: 'Connections, frames and requests refused by a rate limiter, by kind (connection, http_connection, ws_message, publish, ticket, body_bytes).',
      labelNames: ['kind'],
      registers,
    }),
    issued: new Counter({
      name: 'streamgauge_tokens_issued_total',
      help: 'Short-lived tokens and SSE stream tickets minted, by kind.',
      labelNames: ['kind'],
      registers,
    }),
  };
}
