/**
 * Bearer token for /metrics (auth.metrics.bearerToken): Prometheus sends it with
 * `authorization: { credentials: … }` in its scrape config. Compared in constant time.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '@streamgauge/protocol';
import { sgError } from '../errors';
import type { Logger } from '../logger';
import { audit } from './audit';
import { safeEqual } from './key-store';
import type { SecurityMetrics } from './security-metrics';

export function metricsBearerHook(token: string, logger: Logger, metrics?: SecurityMetrics) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (m && safeEqual(m[1], token)) {
      return;
    }
    const reason = m ? 'invalid' : 'missing';
    metrics?.authFailures.inc({ transport: 'metrics', reason });
    audit(logger, 'metrics_auth_refused', { transport: 'metrics', remote: req.ip, reason });
    void reply.header('www-authenticate', 'Bearer realm="streamgauge-metrics"');
    throw sgError(ErrorCode.Unauthorized, 'metrics need Authorization: Bearer <auth.metrics.bearerToken>');
  };
}
