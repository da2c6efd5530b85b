/**
 * The two fastify hooks that mark the end of a request: answered (onResponse, every error answer
 * included) or the client went away before its answer (onRequestAbort). Neither fires for a
 * pipelined request whose connection closes before its turn to be answered: what a request holds
 * per connection is also given back on the socket's 'close' (arrival-order.ts, body-budget.ts).
 * `fn` may run twice for one request (aborted, then answered): make it idempotent.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Methods whose requests carry no body and store nothing: they take no arrival turn (so an SSE stream, a GET, holds up nothing) and no body budget. */
export const READ_ONLY_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export function onRequestEnd(app: FastifyInstance, fn: (req: FastifyRequest) => void): void {
  app.addHook('onResponse', (req, _reply, done) => {
    fn(req);
    done();
  });
  app.addHook('onRequestAbort', (req, done) => {
    fn(req);
    done();
  });
}
