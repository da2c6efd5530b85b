import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { access } from './route-access';

/**
 * /metrics in the Prometheus text format, or OpenMetrics when the scraper asks for it
 * (Accept: application/openmetrics-text), from the collector's own registry.
 * prom-client keeps the format on the registry, so renders are serialized: two scrapes asking
 * for different formats at once must not switch it under each other. prom-client 15 also strips
 * `_total` from counter names in place when rendering OpenMetrics (registry.js
 * standardizeCounterName), which would break every later text scrape: names are restored after.
 */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry, path: string): void {
  let queue: Promise<unknown> = Promise.resolve();
  const render = async (openMetrics: boolean): Promise<{ body: string; type: string }> => {
    const metrics = registry.getMetricsAsArray() as unknown as { name: string }[];
    const names = metrics.map((m) => m.name);
    registry.setContentType((openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE) as never);
    try {
      return { body: await registry.metrics(), type: registry.contentType };
    } finally {
      registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE as never);
      metrics.forEach((m, i) => {
        m.name = names[i];
      });
    }
  };
  // Public to API keys: /metrics has its own bearer token and port (auth.metrics, docs/security.md).
  app.get(path, access('public'), async (req, reply) => {
    const openMetrics = (req.headers.accept ?? '').includes('application/openmetrics-text');
    const next = queue.then(() => render(openMetrics));
    queue = next.catch(() => undefined);
    const { body, type } = await next;
    void reply.type(type);
    return body;
  });
}
