/**
 * GET /api/v1/snapshot?channel=NAME[&limit=N]: the current value of every live key of a state or
 * entity channel, in offset order: the same snapshot a subscription receives first, over REST.
 * At most `limit` keys (default and cap: limits.historyMaxLimit), the most recently updated ones;
 * `more: true` says some were left out.
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '@streamgauge/protocol';
import { sgError } from '../errors';
import type { ChannelRegistry } from '../channels/channel-registry';
import type { EventLog } from '../log/event-log';
import { principalOf } from '../auth/request-principal';
import { access } from '../http/route-access';

export function registerSnapshotRoute(app: FastifyInstance, o: { registry: ChannelRegistry; log: EventLog; maxLimit: number }): void {
  app.get('/api/v1/snapshot', access('subscribe'), async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const name = q.channel;
    if (!name) {
      throw sgError(ErrorCode.BadRequest, 'channel is required: /api/v1/snapshot?channel=attendance/components');
    }
    const c = o.registry.get(name);
    if (!c || !principalOf(req).canSubscribe(name)) {
      throw sgError(ErrorCode.UnknownChannel, `unknown channel ${name}`);
    }
    if (c.kind === 'stream') {
      throw sgError(
        ErrorCode.BadRequest,
        `${name} is a stream channel: snapshots exist for state and entity channels; use /api/v1/messages?channel=${name}`,
      );
    }
    let limit = o.maxLimit;
    if (q.limit !== undefined && q.limit !== '') {
      const n = Number(q.limit);
      if (!Number.isSafeInteger(n) || n < 1 || n > o.maxLimit) {
        throw sgError(ErrorCode.BadRequest, `limit must be an integer from 1 to ${o.maxLimit} (limits.historyMaxLimit)`);
      }
      limit = n;
    }
    // Read the offset first: the snapshot then holds at least everything up to it.
    const lastOffset = c.lastOffset;
    // One key more than asked tells whether some were left out, without loading every key.
    const page = await o.log.latestByKey(name, limit + 1);
    const more = page.length > limit;
    const latest = more ? page.slice(1) : page;
    const head = { channel: name, kind: c.kind, epoch: c.epoch, keyField: c.schema.keyField ?? null, lastOffset, count: latest.length };
    reply.type('application/json; charset=utf-8');
    return `${JSON.stringify(head).slice(0, -1)},"messages":[${latest.map((m) => m.item).join(',')}],"more":${more}}`;
  });
}
