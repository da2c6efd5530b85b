import type { FastifyInstance } from 'fastify';

/** /healthz: the process answers. /readyz: it can take and serve messages (store up, not shutting down). */
export function registerHealthRoutes(app: FastifyInstance, o: { ready: () => boolean }): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ready = o.ready();
    void reply.code(ready ? 200 : 503);
    return { ready };
  });
}
