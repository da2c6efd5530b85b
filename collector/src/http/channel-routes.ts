/**
 * REST reads: the channel list with schemas and stats, history by offset or time range (the same
 * message format as the socket: the plugin's history and polling fallback), and a status snapshot.
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCode, type ChannelsResponse, type HistoryResponse, isChannelName } from '@streamgauge/protocol';
import { sgError } from '../errors';
import type { ChannelRegistry } from '../channels/channel-registry';
import type { EventLog } from '../log/event-log';
import { parseTime } from '../sessions/since';
import { principalOf } from '../auth/request-principal';
import { access } from './route-access';

export interface ChannelRoutesOptions {
  registry: ChannelRegistry;
  log: EventLog;
  historyMaxLimit: number;
  /** The status snapshot, listing only the channels `visible` accepts (the caller's subscribe scope). */
  status: (visible: (channel: string) => boolean) => Record<string, unknown>;
}

function intParam(v: unknown, name: string, min: number): number | undefined {
  if (v === undefined || v === '') {
    return undefined;
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) {
    throw sgError(ErrorCode.BadRequest, `${name} must be an integer >= ${min}`);
  }
  return n;
}

function timeParam(v: unknown, name: string): number | undefined {
  if (v === undefined || v === '') {
    return undefined;
  }
  const t = parseTime(String(v));
  if (t === null) {
    throw sgError(ErrorCode.BadRequest, `${name} must be ms since the Unix epoch or an ISO 8601 time`);
  }
  return t;
}

export function registerChannelRoutes(app: FastifyInstance, o: ChannelRoutesOptions): void {
  app.get('/api/v1/channels', access('subscribe'), async (req): Promise<ChannelsResponse> => {
    const p = principalOf(req);
    const now = Date.now();
    const channels = [...o.registry.all()]
      .filter((c) => p.canSubscribe(c.name))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((c) => o.registry.info(c, now));
    return { channels };
  });

  app.get('/api/v1/channels/*', access('subscribe'), async (req) => {
    const name = (req.params as Record<string, string>)['*'];
    const c = o.registry.get(name);
    if (!c || !principalOf(req).canSubscribe(name)) {
      throw sgError(ErrorCode.UnknownChannel, `unknown channel ${name}`);
    }
    return o.registry.info(c, Date.now());
  });

  app.get('/api/v1/messages', access('subscribe'), async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const name = q.channel;
    if (!name) {
      throw sgError(ErrorCode.BadRequest, 'channel is required: /api/v1/messages?channel=app/scans');
    }
    if (!isChannelName(name)) {
      throw sgError(ErrorCode.BadChannelName, `${JSON.stringify(name)} is not a channel name (docs/protocol.md, "Channel names")`);
    }
    const c = o.registry.get(name);
    if (!c || !principalOf(req).canSubscribe(name)) {
      throw sgError(ErrorCode.UnknownChannel, `unknown channel ${name}`);
    }
    const limit = intParam(q.limit, 'limit', 1) ?? 1000;
    if (limit > o.historyMaxLimit) {
      throw sgError(ErrorCode.BadRequest, `limit must be at most ${o.historyMaxLimit} (limits.historyMaxLimit)`);
    }
    const after = intParam(q.after, 'after', 0);
    const from = timeParam(q.from, 'from');
    const to = timeParam(q.to, 'to');
    const tail = q.tail === 'true' || q.tail === '1';
    const r = await o.log.read(name, { after, from, to, limit, tail });
    const head: Omit<HistoryResponse, 'messages' | 'more'> = {
      channel: name,
      epoch: c.epoch,
      firstOffset: c.count === 0 ? c.lastOffset + 1 : c.firstOffset,
      lastOffset: c.lastOffset,
    };
    // Items are stored as JSON already: splice them in rather than parse and serialize again.
    const items = r.messages.map((m) => m.item).join(',');
    reply.type('application/json; charset=utf-8');
    return `${JSON.stringify(head).slice(0, -1)},"messages":[${items}],"more":${r.more}}`;
  });

  // Any credential may read the status, but a channel's name and last message only within its subscribe scope.
  app.get('/api/v1/status', access('any'), async (req) => {
    const p = principalOf(req);
    return o.status((name) => p.canSubscribe(name));
  });
}
