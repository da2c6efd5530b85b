/**
 * SSE stream tickets. EventSource cannot send headers, and a token in the query string would be
 * written to every access log on the way. A ticket is the lesser evil: random, single use, valid
 * for `auth.tokens.ticketTtlSeconds` (30 s), so a ticket read from a log later is worthless.
 * The store is bounded (`auth.tokens.maxTickets`), and so is each key's share of it
 * (`auth.tokens.maxTicketsPerKey`), so one key minting in a loop cannot lock every other key out.
 * Expired tickets are swept on each issue.
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
  /** Unused tickets per principal name. */
  private readonly perKey = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxTickets: number,
    private readonly maxPerKey = maxTickets,
  ) {}

  get size(): number {
    return this.tickets.size;
  }

  issue(principal: Principal, now = Date.now()): { ticket: string; expiresAt: number } {
    this.sweep(now, (this.perKey.get(principal.name) ?? 0) >= this.maxPerKey);
    if ((this.perKey.get(principal.name) ?? 0) >= this.maxPerKey) {
      throw sgError(
        ErrorCode.RateLimited,
        `too many unused stream tickets for this key (auth.tokens.maxTicketsPerKey = ${this.maxPerKey}); use or let them expire`,
      );
    }
    if (this.tickets.size >= this.maxTickets) {
      throw sgError(ErrorCode.RateLimited, `too many unused stream tickets (auth.tokens.maxTickets = ${this.maxTickets}); retry shortly`);
    }
    const ticket = randomBytes(24).toString('base64url');
    // A ticket never outlives the token it was minted with.
    const expiresAt = Math.min(now + this.ttlMs, principal.expiresAt ?? Number.MAX_SAFE_INTEGER);
    this.tickets.set(ticket, { principal, expiresAt });
    this.perKey.set(principal.name, (this.perKey.get(principal.name) ?? 0) + 1);
    return { ticket, expiresAt };
  }

  /** Returns the ticket's principal and forgets the ticket; undefined if unknown, used or expired. */
  consume(ticket: string, now = Date.now()): Principal | undefined {
    const t = this.tickets.get(ticket);
    if (!t) {
      return undefined;
    }
    this.forget(ticket, t);
    return t.expiresAt > now ? t.principal : undefined;
  }

  private forget(ticket: string, t: Ticket): void {
    this.tickets.delete(ticket);
    const n = (this.perKey.get(t.principal.name) ?? 1) - 1;
    if (n > 0) {
      this.perKey.set(t.principal.name, n);
    } else {
      this.perKey.delete(t.principal.name);
    }
  }

  private sweep(now: number, all: boolean): void {
    // Expired tickets sit mostly at the head (insertion order): drop them and stop at the first live
    // one, unless the store or the caller's share is full, then look at all of them (minting is
    // rate limited per key, so this full scan is too).
    for (const [k, t] of this.tickets) {
      if (t.expiresAt <= now) {
        this.forget(k, t);
      } else if (!all && this.tickets.size < this.maxTickets) {
        break;
      }
    }
  }
}
