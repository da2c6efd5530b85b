/**
 * POST /api/v1/publish: one message (`{"channel","data"}`), a batch (`{"messages":[…]}`) or NDJSON
 * (one message per line, Content-Type application/x-ndjson; parsed by body-parsers.ts). The whole request is validated first and
 * appended atomically; the reply comes only once the log holds every message and this instance's
 * live subscribers were written them (Hub.publish). Requests pipelined on
 * one connection are stored in the order they were sent (arrival-order.ts).
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, type PublishItem, type PublishResponse } from '@streamgauge/protocol';
import { sgError } from '../errors';
import type { Hub } from '../hub/hub';
import { principalOf } from '../auth/request-principal';
import { access } from './route-access';
import { arrivalTurn } from './arrival-order';

export function registerPublishRoute(app: FastifyInstance, hub: Hub): void {
  app.post('/api/v1/publish', access('publish', { limit: 'publish' }), async (req, reply): Promise<PublishResponse> => {
    const body = req.body as Record<string, unknown> | undefined;
    let items: PublishItem[];
    if (body && Array.isArray(body.messages)) {
      items = body.messages as PublishItem[];
    } else if (body && typeof body === 'object' && !Array.isArray(body) && 'channel' in body) {
      items = [body as unknown as PublishItem];
    } else {
      throw sgError(ErrorCode.BadRequest, 'body must be {"channel","data"} or {"messages":[{"channel","data"},…]}');
    }
    if (items.length === 0) {
      throw sgError(ErrorCode.BadRequest, 'messages is empty');
    }
    const principal = principalOf(req);
    // Stored in arrival order among the requests of this connection (arrival-order.ts).
    const offsets = await hub.publish(items, (c) => principal.canPublish(c), undefined, arrivalTurn(req));
    reply.code(200);
    return { offsets };
  });
}
