/**
 * The Server-Sent Events adapter of a Session: the same subscriptions as the WebSocket, one way.
 * Each `messages` event's id is the position of every channel received (`channel:epoch:offset;…`),
 * so the browser's automatic reconnect with Last-Event-ID resumes every channel exactly where it
 * stopped, by its concrete name, also under a pattern. With a Last-Event-ID, `last` and `from`
 * apply no more: they were for the first connection.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, type ServerFrame, type Since, isPattern, matchChannel } from '@streamgauge/protocol';
import type { Config } from '../collector-config';
import { SgError, sgError } from '../errors';
import type { Authenticator, Principal } from '../auth/principal';
import type { Hub } from '../hub/hub';
import type { CoreMetrics } from '../metrics/core-metrics';
import { access } from '../http/route-access';
import type { Logger } from '../logger';
import { type EndReason, Session, type SessionOutput } from '../sessions/session';
import { parseTime } from '../sessions/since';
import { corsHeaders, originAllowed } from './origin';

export interface SseOptions {
  config: Config['sse'];
  allowedOrigins: readonly string[];
  /** Channels per stream at most (ws.maxSubscriptionsPerConnection: the same rule as a WebSocket). */
  maxSubscriptions: number;
  hub: Hub;
  metrics: CoreMetrics;
  auth: Authenticator;
  logger: Logger;
  /** Rate limit and credentials, including `?ticket=` (security.admitSse); default: auth.fromHeaders. */
  admit?: (req: FastifyRequest, reply: FastifyReply) => Promise<Principal>;
}

export interface SseHandle {
  clients(): number;
  queuedBytes(): number;
  close(): void;
}

/** Parses `ch:epoch:offset;ch2:epoch:offset` (an SSE event id). Unknown parts are ignored. */
export function parseEventId(id: string | undefined): Map<string, { epoch: string; offset: number }> {
  const out = new Map<string, { epoch: string; offset: number }>();
  for (const part of (id ?? '').split(';')) {
    const [channel, epoch, offset] = part.split(':');
    const n = Number(offset);
    if (channel && epoch && Number.isSafeInteger(n) && n >= 0) {
      out.set(channel, { epoch, offset: n });
    }
  }
  return out;
}

class SseAdapter implements SessionOutput {
  readonly transport = 'sse' as const;
  /** Latest position per channel, for event ids. */
  private readonly positions = new Map<string, string>();

  constructor(private readonly reply: FastifyReply) {}

  queuedBytes(): number {
    return this.reply.raw.writableLength;
  }

  messages(frame: string, channel: string, epoch: string, lastOffset: number): void {
    this.positions.set(channel, `${channel}:${epoch}:${lastOffset}`);
    this.reply.raw.write(`event: messages\nid: ${[...this.positions.values()].join(';')}\ndata: ${frame}\n\n`);
  }

  control(frame: ServerFrame): void {
    if (frame.type === 'subscribed') {
      this.positions.set(frame.channel, `${frame.channel}:${frame.epoch}:${frame.offset}`);
    }
    this.reply.raw.write(`event: ${frame.type}\ndata: ${JSON.stringify(frame)}\n\n`);
  }

  comment(text: string): void {
    this.reply.raw.write(`: ${text}\n\n`);
  }

  end(reason: EndReason | undefined): void {
    if (reason && !this.reply.raw.destroyed) {
      // The last event says why the stream ends (written past the queue limit: it is the last write).
      this.reply.raw.write(`event: error\ndata: ${JSON.stringify({ type: 'error', code: reason.errorCode, message: reason.message })}\n\n`);
    }
    this.reply.raw.end();
  }
}

export function registerSse(app: FastifyInstance, o: SseOptions): SseHandle {
  const open = new Map<Session, SseAdapter>();

  app.get(o.config.path, access('subscribe', { ticket: true }), async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as Record<string, string | string[] | undefined>;
    if (!originAllowed(req.headers.origin, req.headers.host, o.allowedOrigins)) {
      o.metrics.connectionsRefused.inc({ transport: 'sse', reason: 'origin' });
      throw sgError(ErrorCode.OriginForbidden, `origin ${req.headers.origin} is not allowed (ws.allowedOrigins)`);
    }
    const principal = o.admit ? await o.admit(req, reply) : o.auth.fromHeaders(req.headers);
    if (open.size >= o.config.maxConnections) {
      o.metrics.connectionsRefused.inc({ transport: 'sse', reason: 'limit' });
      throw sgError(ErrorCode.TooManyConnections, `at most ${o.config.maxConnections} SSE clients (sse.maxConnections)`);
    }
    const channels = [q.channels, q.channel]
      .flat()
      .filter((v): v is string => typeof v === 'string')
      .flatMap((v) => v.split(','))
      .map((s) => s.trim())
      .filter(Boolean);
    if (channels.length === 0) {
      throw sgError(ErrorCode.BadRequest, 'name at least one channel: ?channels=a,b');
    }
    let firstSince: Since | undefined;
    if (q.last !== undefined) {
      const n = Number(q.last);
      if (!Number.isSafeInteger(n) || n < 0) {
        throw sgError(ErrorCode.BadRequest, 'last must be an integer >= 0');
      }
      firstSince = { last: n };
    } else if (q.from !== undefined) {
      const t = parseTime(String(q.from));
      if (t === null) {
        throw sgError(ErrorCode.BadRequest, 'from must be ms since the Unix epoch or an ISO 8601 time');
      }
      firstSince = { time: t };
    }
    const lastEventId =
      (req.headers['last-event-id'] as string | undefined) ?? (typeof q.lastEventId === 'string' ? q.lastEventId : undefined);
    const resume = parseEventId(lastEventId);
    // A reconnect: every channel received before has its position in the id; others start now.
    const defaultSince = lastEventId ? undefined : firstSince;

    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and some proxies buffer responses unless told not to.
      'x-accel-buffering': 'no',
      ...corsHeaders(req.headers.origin, o.allowedOrigins),
    });
    reply.raw.write(`retry: 1000\n\n`);
    const adapter = new SseAdapter(reply);
    const session = new Session(
      adapter,
      {
        hub: o.hub,
        metrics: o.metrics,
        logger: o.logger,
        principal,
        maxQueueBytes: o.config.maxQueueBytes,
        maxSubscriptions: o.maxSubscriptions,
      },
      'sse.maxQueueBytes',
    );
    open.set(session, adapter);
    const keepalive = setInterval(() => {
      if (!session.closed) {
        adapter.comment('keepalive');
      }
    }, o.config.keepaliveMs);
    session.onClose(() => {
      clearInterval(keepalive);
      open.delete(session);
    });
    req.raw.on('close', () => session.close());

    const subscribe = async (name: string, since: Since | undefined): Promise<void> => {
      try {
        await session.subscribe(name, since);
      } catch (err) {
        const e = err instanceof SgError ? err : sgError(ErrorCode.Internal, 'subscribe failed');
        session.control({ type: 'error', code: e.code, message: e.message, channel: name });
      }
    };
    for (const name of channels) {
      if (session.closed) {
        return;
      }
      if (isPattern(name)) {
        // Resume each channel the pattern delivered by its own name, then the pattern for the rest.
        for (const [channel, at] of resume) {
          if (matchChannel(name, channel) && !channels.includes(channel) && o.hub.registry.get(channel)) {
            await subscribe(channel, at);
          }
        }
        await subscribe(name, defaultSince);
      } else {
        await subscribe(name, resume.get(name) ?? defaultSince);
      }
    }
  });

  return {
    clients: () => open.size,
    queuedBytes: () => [...open.values()].reduce((n, a) => n + a.queuedBytes(), 0),
    close: () => {
      for (const s of [...open.keys()]) {
        s.close({ closeCode: 1001, errorCode: ErrorCode.StoreUnavailable, message: 'server shutting down: reconnect and resume' });
      }
    },
  };
}
