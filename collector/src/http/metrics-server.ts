/**
 * Mounts /metrics as auth.metrics asks: behind a bearer token, and on the main server or on a
 * separate Fastify instance of its own (auth.metrics.port > 0), which main.ts listens on and
 * the main app closes with itself.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { ErrorCode } from '@streamgauge/protocol';
import type { Config } from '../collector-config';
import { SgError, sgError } from '../errors';
import { registerMetricsRoute } from './metrics-route';
import type { Logger } from '../logger';
import { metricsBearerHook } from '../auth/metrics-guard';
import type { SecurityMetrics } from '../auth/security-metrics';

export function mountMetrics(
  app: FastifyInstance,
  config: Config,
  registry: Registry,
  logger: Logger,
  metrics?: SecurityMetrics,
): FastifyInstance | undefined {
  const m = config.auth.metrics;
  let separate: FastifyInstance | undefined;
  let target = app;
  if (m.port > 0) {
    separate = Fastify({ loggerInstance: logger, disableRequestLogging: true });
    separate.setErrorHandler((err, _req, reply) => {
      const e = err instanceof SgError ? err : sgError(ErrorCode.Internal, 'internal error');
      void reply.code(e.statusCode).send(e.toBody());
    });
    separate.setNotFoundHandler((req, reply) => {
      void reply
        .code(404)
        .send(
          sgError(
            ErrorCode.NotFound,
            `no route ${req.method} ${req.url.split('?')[0]}: this port serves only ${config.metrics.path}`,
          ).toBody(),
        );
    });
    const s = separate;
    app.addHook('onClose', async () => {
      await s.close();
    });
    target = separate;
  }
  // A child scope, so the bearer hook guards /metrics only.
  void target.register(async (scope) => {
    if (m.bearerToken) {
      scope.addHook('onRequest', metricsBearerHook(m.bearerToken, logger, metrics));
    }
    registerMetricsRoute(scope, registry, config.metrics.path);
  });
  return separate;
}
