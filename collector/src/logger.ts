import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';

/** fastify's view of a pino logger: the one logger type used across the collector. */
export type Logger = FastifyBaseLogger;

/** Structured JSON logs on stdout. Secrets never go into a log line (docs/security.md). */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'streamgauge-collector' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'token', 'ticket', 'apiKey', 'secret'],
      censor: '[redacted]',
    },
  }) as unknown as Logger;
}
