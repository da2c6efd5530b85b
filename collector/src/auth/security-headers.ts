/**
 * Response headers against content injection: channel data is arbitrary JSON, so a browser
 * opening a REST URL directly must never sniff it as HTML, and no collector response may be
 * framed or run scripts. (The Grafana plugin reads these responses as data; this only guards
 * direct visits.)
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
});

/** An onSend hook: it runs for every response, refusals included. */
export async function securityHeadersHook(_req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  void reply.headers(SECURITY_HEADERS);
  return payload;
}
