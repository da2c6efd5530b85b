/**
 * Order between requests on one connection (docs/protocol.md, "Order between requests").
 *
 * Request bodies are parsed in slices that yield to the event loop (json-body.ts), so two requests
 * pipelined on one HTTP/1.1 connection can finish parsing in either order; without this, a small
 * body sent after a large one was stored first. Each request that may store something takes an
 * arrival ticket synchronously in the first onRequest hook (Node emits pipelined requests in the
 * order they were read from the socket, and fastify runs the first onRequest hook synchronously),
 * waits for its turn right before its batch is handed to the log (hub.publish), and releases the
 * ticket as soon as the batch is handed over, or when the request ends in any other way (answered,
 * refused, failed, aborted, connection closed), so that one failed request never blocks the
 * connection.
 *
 * Per connection, the tickets form a FIFO: a ticket's turn comes when every earlier ticket is
 * released. Taking, releasing and advancing are O(1) (amortized); there is no global lock, so
 * different connections never wait on each other. Node's HTTP server does not bound how many
 * pipelined requests it emits while their answers are pending, so the queue is bounded here:
 * past `limits.maxRequestsInFlightPerConnection` requests in flight on one connection, the next
 * one is refused with 429 SG_RATE_LIMITED before its body is read.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode } from '@streamgauge/protocol';
import { sgError } from '../errors';
import { READ_ONLY_METHODS, onRequestEnd } from './request-end';

/** What hub.publish needs of a ticket: wait for the turn, then say the batch is handed over. */
export interface ArrivalTurn {
  /** undefined when it is already this ticket's turn (no await, the common unpipelined case). */
  wait(): Promise<void> | undefined;
  /** The batch is handed to the log: later requests on the connection may go. Idempotent. */
  release(): void;
}

class Ticket implements ArrivalTurn {
  next: Ticket | undefined;
  /** Its batch is handed to the log, or its request ended. */
  released = false;
  /** Every earlier ticket is released: its batch may go to the log. */
  private ready = false;
  private waiter: (() => void) | undefined;
  private turn: Promise<void> | undefined;

  constructor(private readonly line: ArrivalLine) {}

  wait(): Promise<void> | undefined {
    if (this.ready || this.line.head === this) {
      return undefined;
    }
    // Also when released early (its request aborted while it waits): it still goes after the earlier ones.
    this.turn ??= new Promise<void>((r) => (this.waiter = r));
    return this.turn;
  }

  /** Called by the line, in arrival order, once every earlier ticket is released. */
  go(): void {
    this.ready = true;
    this.waiter?.();
    this.waiter = undefined;
  }

  release(): void {
    if (!this.released) {
      this.released = true;
      this.line.advance();
    }
  }
}

/** The tickets of one connection, in arrival order (exported for its unit test). */
export class ArrivalLine {
  head: Ticket | undefined;
  private tail: Ticket | undefined;
  /** Tickets not yet released at the head and after it. */
  size = 0;

  take(): ArrivalTurn {
    const t = new Ticket(this);
    if (this.tail) {
      this.tail.next = t;
    } else {
      this.head = t;
    }
    this.tail = t;
    this.size++;
    return t;
  }

  /** Drops released tickets from the head (waking any still waiting, in order); wakes the new head. */
  advance(): void {
    let h = this.head;
    while (h && h.released) {
      h.go();
      this.size--;
      h = h.next;
    }
    this.head = h;
    if (!h) {
      this.tail = undefined;
      return;
    }
    h.go();
  }

  /** The connection closed: every request still holding a ticket goes, in arrival order. */
  releaseAll(): void {
    for (let t = this.head; t; t = t.next) {
      t.released = true;
      t.go();
    }
    this.head = this.tail = undefined;
    this.size = 0;
  }
}

const QUEUE = Symbol('streamgauge.arrivalQueue');
const TICKET = Symbol('streamgauge.arrivalTicket');

type QueuedSocket = Socket & { [QUEUE]?: ArrivalLine };
type TicketedRequest = FastifyRequest & { [TICKET]?: ArrivalTurn };

/**
 * Installs the ticket hooks. Must be the first onRequest hook registered (app.ts registers it
 * before anything else), so that the ticket is taken before any await.
 */
export function installArrivalOrder(app: FastifyInstance, maxInFlightPerConnection: number): void {
  app.addHook('onRequest', (req, reply, done) => {
    if (READ_ONLY_METHODS.has(req.method)) {
      done();
      return;
    }
    const socket = req.raw.socket as QueuedSocket | null;
    if (!socket) {
      done();
      return;
    }
    let q = socket[QUEUE];
    if (!q) {
      const created = new ArrivalLine();
      q = socket[QUEUE] = created;
      socket.once('close', () => created.releaseAll());
    }
    if (q.size >= maxInFlightPerConnection) {
      done(
        sgError(
          ErrorCode.RateLimited,
          `more than ${maxInFlightPerConnection} requests in flight on this connection (limits.maxRequestsInFlightPerConnection)`,
        ),
      );
      return;
    }
    (req as TicketedRequest)[TICKET] = q.take();
    done();
  });
  // Answered (including every error answer), or the client went away first.
  onRequestEnd(app, (req) => (req as TicketedRequest)[TICKET]?.release());
}

/** The request's arrival ticket (undefined for read-only methods and inject() without a socket). */
export function arrivalTurn(req: FastifyRequest): ArrivalTurn | undefined {
  return (req as TicketedRequest)[TICKET];
}
