/**
 * Publish requests per API key (auth.limits.publishRequestsPerSecond): an onRequest hook, so an
 * over-limit request is refused before its body is read or parsed. Answers 429 SG_RATE_LIMITED
 * with Retry-After. With auth off there are no keys to limit: the collector then serves loopback
 * (or an explicitly insecure network), and local scripts publishing fast are not throttled.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../http/request-principal';
import { type ConnectionGuard, retryAfterSeconds } from './connection-guard';
import type { SgError } from '../errors';

export function publishLimitHook(guard: ConnectionGuard, path = '/api/v1/publish') {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (req.method !== 'POST' || req.url.split('?')[0] !== path) {
      return;
    }
    const p = principalOf(req);
    if (p.via === 'open') {
      return;
    }
    try {
      guard.admitPublish(p.name);
    } catch (err) {
      void reply.header('retry-after', String(retryAfterSeconds(err as SgError) ?? 1));
      throw err;
    }
  };
}
