/**
 * Server-Sent Events: the same subscriptions as the WebSocket, one way. Each `messages` event's id
 * is the position of every subscribed channel (`channel:epoch:offset;…`), so the browser's
 * automatic reconnect with Last-Event-ID resumes every channel exactly where it stopped.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, type ServerFrame, type Since } from '@streamgauge/protocol';
import type { Config } from '../config/load-config';
import { SgError, sgError } from '../errors';
import type { Authenticator, Principal } from '../auth/principal';
import type { Hub } from '../hub/hub';
import { nextSinkId, type Sink } from '../hub/sink';
import type { CoreMetrics } from '../metrics/core-metrics';
import { access } from '../http/route-access';
import { corsHeaders, originAllowed } from './origin';

export interface SseOptions {
  config: Config['sse'];
  allowedOrigins: readonly string[];
  hub: Hub;
  metrics: CoreMetrics;
  auth: Authenticator;
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

class SseSink implements Sink {
  readonly id = nextSinkId();
  readonly transport = 'sse' as const;
  closed = false;
  /** Latest position per channel, for event ids. */
  readonly positions = new Map<string, string>();

  constructor(
    private readonly reply: FastifyReply,
    readonly maxQueueBytes: number,
    private readonly onSlow: () => void,
  ) {}

  queuedBytes(): number {
    return this.reply.raw.writableLength;
  }

  private write(s: string): boolean {
    if (this.closed) {
      return false;
    }
    this.reply.raw.write(s);
    if (this.reply.raw.writableLength > this.maxQueueBytes) {
      this.onSlow();
      return false;
    }
    return true;
  }

  sendMessages(frame: string, channel: string, lastOffset: number, epoch: string): boolean {
    this.positions.set(channel, `${channel}:${epoch}:${lastOffset}`);
    return this.write(`event: messages\nid: ${[...this.positions.values()].join(';')}\ndata: ${frame}\n\n`);
  }

  sendFrame(frame: ServerFrame): void {
    if (frame.type === 'subscribed') {
      this.positions.set(frame.channel, `${frame.channel}:${frame.epoch}:${frame.offset}`);
    }
    this.write(`event: ${frame.type}\ndata: ${JSON.stringify(frame)}\n\n`);
  }

  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  end(): void {
    this.closed = true;
    this.reply.raw.end();
  }
}

export function registerSse(app: FastifyInstance, o: SseOptions): SseHandle {
  /** Each open stream and the function that ends it. */
  const sinks = new Map<SseSink, () => void>();

  app.get(o.config.path, access('subscribe', { ticket: true }), async (req: FastifyRequest, reply: FastifyReply) => {
    const q = req.query as Record<string, string | string[] | undefined>;
    if (!originAllowed(req.headers.origin, req.headers.host, o.allowedOrigins)) {
      o.metrics.connectionsRefused.inc({ transport: 'sse', reason: 'origin' });
      throw sgError(ErrorCode.OriginForbidden, `origin ${req.headers.origin} is not allowed (ws.allowedOrigins)`);
    }
    const principal = o.admit ? await o.admit(req, reply) : o.auth.fromHeaders(req.headers);
    if (sinks.size >= o.config.maxConnections) {
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
    let defaultSince: Since | undefined;
    if (q.last !== undefined) {
      const n = Number(q.last);
      if (!Number.isSafeInteger(n) || n < 0) {
        throw sgError(ErrorCode.BadRequest, 'last must be an integer >= 0');
      }
      defaultSince = { last: n };
    } else if (q.from !== undefined) {
      const t = parseTime(String(q.from));
      if (t === null) {
        throw sgError(ErrorCode.BadRequest, 'from must be ms since the Unix epoch or an ISO 8601 time');
      }
      defaultSince = { time: t };
    }
    const lastEventId =
      (req.headers['last-event-id'] as string | undefined) ?? (typeof q.lastEventId === 'string' ? q.lastEventId : undefined);
    const resume = parseEventId(lastEventId);

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
    const sink: SseSink = new SseSink(reply, o.config.maxQueueBytes, () => {
      o.metrics.slowDisconnects.inc({ transport: 'sse' });
      sink.sendFrame({
        type: 'error',
        code: ErrorCode.RateLimited,
        message: 'slow consumer: send queue over sse.maxQueueBytes; reconnect and resume',
      });
      close();
    });
    const keepalive = setInterval(() => sink.comment('keepalive'), o.config.keepaliveMs);
    const close = (): void => {
      if (!sinks.delete(sink)) {
        return;
      }
      clearInterval(keepalive);
      o.hub.removeSink(sink);
      sink.end();
    };
    sinks.set(sink, close);
    if (principal.expiresAt !== undefined) {
      // A stream opened with a token (through a ticket) ends when the token does: mint a new ticket and reconnect with lastEventId.
      const expiry = setTimeout(close, Math.max(0, principal.expiresAt - Date.now()));
      expiry.unref();
      req.raw.on('close', () => clearTimeout(expiry));
    }
    req.raw.on('close', close);

    for (const channel of channels) {
      try {
        await o.hub.subscribe(sink, channel, resume.get(channel) ?? defaultSince, undefined, (c) => principal.canSubscribe(c));
      } catch (err) {
        const e = err instanceof SgError ? err : sgError(ErrorCode.Internal, 'subscribe failed');
        sink.sendFrame({ type: 'error', code: e.code, message: e.message, channel });
      }
    }
  });

  return {
    clients: () => sinks.size,
    queuedBytes: () => [...sinks.keys()].reduce((n, s) => n + s.queuedBytes(), 0),
    close: () => {
      for (const close of [...sinks.values()]) {
        close();
      }
    },
  };
}

export function parseTime(v: string): number | null {
  if (/^\d+$/.test(v)) {
    return Number(v);
  }
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}
