/**
 * SSE stream tickets. EventSource cannot send headers, and a token in the query string would be
 * written to every access log on the way. A ticket is the lesser evil: random, single use, valid
 * for `auth.tokens.ticketTtlSeconds` (30 s), so a ticket read from a log later is worthless.
 * The store is bounded (`auth.tokens.maxTickets`); expired tickets are swept on each issue.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '@streamgauge/protocol';
import { sgError } from '../errors';
import type { Principal } from './principal';

interface Ticket {
  principal: Principal;
  expiresAt: number;
}

export class TicketStore {
  private readonly tickets = new Map<string, Ticket>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxTickets: number,
  ) {}

  get size(): number {
    return this.tickets.size;
  }

  issue(principal: Principal, now = Date.now()): { ticket: string; expiresAt: number } {
    this.sweep(now);
    if (this.tickets.size >= this.maxTickets) {
      throw sgError(ErrorCode.RateLimited, `too many unused stream tickets (auth.tokens.maxTickets = ${this.maxTickets}); retry shortly`);
    }
    const ticket = randomBytes(24).toString('base64url');
    // A ticket never outlives the token it was minted with.
    const expiresAt = Math.min(now + this.ttlMs, principal.expiresAt ?? Number.MAX_SAFE_INTEGER);
    this.tickets.set(ticket, { principal, expiresAt });
    return { ticket, expiresAt };
  }

  /** Returns the ticket's principal and forgets the ticket; undefined if unknown, used or expired. */
  consume(ticket: string, now = Date.now()): Principal | undefined {
    const t = this.tickets.get(ticket);
    if (!t) {
      return undefined;
    }
    this.tickets.delete(ticket);
    return t.expiresAt > now ? t.principal : undefined;
  }

  private sweep(now: number): void {
    // Expired tickets sit mostly at the head (insertion order): drop them and stop at the first live
    // one, unless the store is full, then look at all of them.
    for (const [k, t] of this.tickets) {
      if (t.expiresAt <= now) {
        this.tickets.delete(k);
      } else if (this.tickets.size < this.maxTickets) {
        break;
      }
    }
  }
}
