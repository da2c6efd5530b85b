import type { FastifyInstance } from 'fastify';
import { access } from './route-access';

/** /healthz: the process answers. /readyz: it can take and serve messages (store up, not shutting down). */
export function registerHealthRoutes(app: FastifyInstance, o: { ready: () => boolean }): void {
  app.get('/healthz', access('public'), async () => ({ status: 'ok' }));
  app.get('/readyz', access('public'), async (_req, reply) => {
    const ready = o.ready();
    void reply.code(ready ? 200 : 503);
    return { ready };
  });
}
