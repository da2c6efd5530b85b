/**
 * The process-wide budget of request-body bytes held in memory at once
 * (`limits.maxBodyBytesInFlight`, docs/security.md "Limits").
 *
 * `limits.maxBodyBytes` bounds one body, `limits.maxRequestsInFlightPerConnection` the requests
 * pipelined on one connection, `auth.limits.httpConnectionsPerIp` the connections of one address;
 * together they still let a few publishers make the collector buffer 1024 × 8 MiB per connection.
 * This budget bounds the sum over every connection:
 *
 * - a body with a Content-Length takes its declared size from the budget before it is read
 *   (Node's HTTP parser never delivers more than declared); when the rest of the budget is smaller,
 *   the request is refused with 429 SG_RATE_LIMITED and Retry-After, and its body is never read;
 * - a chunked body takes each chunk as it arrives (O(1) per chunk); the chunk that would cross the
 *   budget fails the request the same way, and fastify closes the connection (the rest is unread);
 * - a request gives its bytes back exactly once, when it ends in any way: answered (onResponse,
 *   which comes after its batch was handed to the log), aborted (onRequestAbort), or its connection
 *   closed (one 'close' listener per socket, which also covers pipelined requests never answered).
 *
 * A body over `limits.maxBodyBytes` is left to fastify's own 413, which is the more useful answer:
 * retrying it can never succeed. Read-only methods (GET, HEAD, OPTIONS) have no body parsed.
 * Bytes held show in `streamgauge_http_body_bytes_in_flight`; refusals in
 * `streamgauge_rate_limited_total{kind="body_bytes"}` (and, like every error answer,
 * `streamgauge_http_errors_total{code="SG_RATE_LIMITED"}`).
 */
import type { Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import type { SecurityMetrics } from '../auth/security-metrics';
import type { SgError } from '../errors';
import { rateLimited } from '../limits/connection-guard';
import { READ_ONLY_METHODS, onRequestEnd } from './request-end';

/** What a refused client is told to wait before retrying: bodies in flight usually end within a second. */
const RETRY_AFTER_MS = 1_000;

/** The bytes held by the requests of one connection; given back at once when it closes. */
interface SocketHold {
  held: number;
  closed: boolean;
}

/** The bytes one request holds. */
interface RequestHold {
  socket: SocketHold;
  bytes: number;
}

/** The counter itself: bytes held, never above `max` (exported for its unit test). */
export class BodyBudget {
  inFlight = 0;
  constructor(readonly max: number) {}

  /** Takes n bytes if they fit in what is left; false (nothing taken) otherwise. */
  tryTake(n: number): boolean {
    if (this.inFlight + n > this.max) {
      return false;
    }
    this.inFlight += n;
    return true;
  }

  give(n: number): void {
    this.inFlight -= n;
  }
}

const SOCKET_HOLD = Symbol('streamgauge.bodyBudgetSocket');
const REQUEST_HOLD = Symbol('streamgauge.bodyBudgetRequest');
type HeldSocket = Socket & { [SOCKET_HOLD]?: SocketHold };
type HeldRequest = FastifyRequest & { [REQUEST_HOLD]?: RequestHold };

export interface BodyBudgetOptions {
  /** limits.maxBodyBytesInFlight */
  maxInFlight: number;
  /** limits.maxBodyBytes: larger bodies are left to fastify's 413. */
  maxBodyBytes: number;
  registry: Registry;
  security: SecurityMetrics;
}

/** Installs the hooks and the gauge (streamgauge_http_body_bytes_in_flight); returns the budget. */
export function installBodyBudget(app: FastifyInstance, o: BodyBudgetOptions): BodyBudget {
  const budget = new BodyBudget(o.maxInFlight);
  new Gauge({
    name: 'streamgauge_http_body_bytes_in_flight',
    help: 'Request-body bytes held in memory (being received, parsed or waiting for their turn), bounded by limits.maxBodyBytesInFlight.',
    registers: [o.registry],
    collect() {
      this.set(budget.inFlight);
    },
  });
  // The refusal counter's series exists at 0 from the start (core-metrics.ts: first events count).
  o.security.rateLimited.inc({ kind: 'body_bytes' }, 0);

  const refusal = (reply: FastifyReply, what: string): SgError => {
    o.security.rateLimited.inc({ kind: 'body_bytes' });
    void reply.header('retry-after', String(RETRY_AFTER_MS / 1000));
    return rateLimited(
      `${what}: the collector holds limits.maxBodyBytesInFlight (${o.maxInFlight}) bytes of request bodies at once; retry shortly`,
      RETRY_AFTER_MS,
    );
  };

  const holdOf = (req: FastifyRequest): RequestHold | undefined => {
    const socket = req.raw.socket as HeldSocket | null;
    if (!socket) {
      return undefined; // inject() in unit tests: no connection, nothing to bound
    }
    let s = socket[SOCKET_HOLD];
    if (!s) {
      const created: SocketHold = (s = socket[SOCKET_HOLD] = { held: 0, closed: false });
      socket.once('close', () => {
        created.closed = true;
        budget.give(created.held);
        created.held = 0;
      });
    }
    const h: RequestHold = { socket: s, bytes: 0 };
    (req as HeldRequest)[REQUEST_HOLD] = h;
    return h;
  };

  const take = (h: RequestHold, n: number): boolean => {
    if (h.socket.closed || !budget.tryTake(n)) {
      return false;
    }
    h.bytes += n;
    h.socket.held += n;
    return true;
  };

  const release = (req: FastifyRequest): void => {
    const h = (req as HeldRequest)[REQUEST_HOLD];
    if (!h || h.bytes === 0 || h.socket.closed) {
      return; // nothing held, or given back with its connection already
    }
    budget.give(h.bytes);
    h.socket.held -= h.bytes;
    h.bytes = 0;
  };

  app.addHook('preParsing', (req, reply, payload, done) => {
    if (READ_ONLY_METHODS.has(req.method)) {
      done(null, payload);
      return;
    }
    const length = req.headers['content-length'];
    if (length !== undefined) {
      const declared = Number(length);
      // 0, or over limits.maxBodyBytes (fastify answers 413 without reading), or malformed (Node refused it already).
      if (!(declared > 0 && declared <= o.maxBodyBytes)) {
        done(null, payload);
        return;
      }
      const h = holdOf(req);
      if (h && !take(h, declared)) {
        done(refusal(reply, `a body of ${declared} bytes does not fit`), payload);
        return;
      }
      done(null, payload);
      return;
    }
    if (req.headers['transfer-encoding'] === undefined) {
      done(null, payload); // no body
      return;
    }
    const h = holdOf(req);
    if (!h) {
      done(null, payload);
      return;
    }
    // Chunked: counted as it arrives. Past limits.maxBodyBytes the chunk is let through uncounted,
    // for fastify's 413.
    let received = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
        received += chunk.length;
        if (received <= o.maxBodyBytes && !take(h, chunk.length)) {
          cb(refusal(reply, `the chunked body passed ${received - chunk.length} bytes`));
          return;
        }
        cb(null, chunk);
      },
    });
    payload.on('error', (err) => counted.destroy(err));
    done(null, payload.pipe(counted));
  });
  // Answered (every error answer included; after the batch was handed to the log), or the client went away first.
  onRequestEnd(app, release);
  return budget;
}
