/**
 * Leases in Redis: `SET key token NX PX ttl` takes a free lease, a compare-and-extend script renews
 * it, a compare-and-delete script gives it up. Every instance competes for every lease it has work
 * for; one holds it at a time. A holder that dies stops renewing: the lease expires after `ttlMs`
 * and another instance takes it on its next attempt, so takeover happens within
 * ttlMs + intervalMs (7 s) plus the time the work takes to start.
 *
 * A holder that cannot renew (Redis down or hung) stops its work `safetyMs` before the lease can
 * expire in Redis (its deadline counts from when it *sent* the last successful renewal), so two
 * instances never run the same work at once unless their clocks run at different speeds. Derived
 * publishes are idempotent anyway (expiry deletes are conditional, blocks carry publish ids).
 *
 * Leases live on the first Redis of store.redis.urls, on a connection of their own with a short
 * command timeout, so that a hung Redis is noticed before the lease runs out.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import type { Logger } from '../logger';
import type { OwnedWork, Ownership, WorkStop } from './ownership';

/** Lease timings; docs/scaling.md documents them. */
export const LEASE_DEFAULTS = {
  /** A lease not renewed for this long expires in Redis: the longest a dead holder blocks its work. */
  ttlMs: 6_000,
  /** Holders renew, and the others try to take free leases, this often. */
  intervalMs: 1_000,
  /** A holder that could not renew stops its work this long before its lease can expire in Redis. */
  safetyMs: 1_500,
  /** Lease commands give up after this long, so a hung Redis is noticed well within the ttl. */
  commandTimeoutMs: 1_000,
  /** Work that failed to start is not tried again by this instance for this long (others may). */
  failedStartPauseMs: 30_000,
};

export interface RedisOwnershipOptions {
  url: string;
  keyPrefix: string;
  logger: Logger;
  ttlMs?: number;
  intervalMs?: number;
}

const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface LeaseRedis extends Redis {
  sgLeaseRenew(key: string, token: string, ttlMs: number): Promise<number>;
  sgLeaseRelease(key: string, token: string): Promise<number>;
}

interface Lease {
  readonly name: string;
  readonly key: string;
  readonly work: OwnedWork;
  held: boolean;
  /** Local deadline: past it without a renewal, the work stops. */
  heldUntil: number;
  ac?: AbortController;
  starting?: Promise<WorkStop | undefined>;
  lossTimer?: ReturnType<typeof setTimeout>;
  /** Operations on one lease run one after the other. */
  chain: Promise<void>;
  busy: boolean;
  closed: boolean;
  /** No attempt to take the lease before this time (the work failed to start here). */
  pausedUntil: number;
}

export function createRedisOwnership(o: RedisOwnershipOptions): Ownership {
  const ttlMs = o.ttlMs ?? LEASE_DEFAULTS.ttlMs;
  const intervalMs = o.intervalMs ?? LEASE_DEFAULTS.intervalMs;
  const token = `${process.pid}-${randomBytes(8).toString('hex')}`;
  const leases = new Map<string, Lease>();
  const client = new Redis(o.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: LEASE_DEFAULTS.commandTimeoutMs,
    // Capped full-jitter backoff, as the event log's connections.
    retryStrategy: (attempt) => Math.round(Math.random() * Math.min(2_000, 50 * 2 ** attempt)),
  }) as LeaseRedis;
  client.defineCommand('sgLeaseRenew', { numberOfKeys: 1, lua: RENEW_LUA });
  client.defineCommand('sgLeaseRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
  client.on('error', (err: Error) => o.logger.debug({ err }, 'lease connection error'));
  client.connect().catch(() => undefined);

  const lose = async (l: Lease, why: string): Promise<void> => {
    if (!l.held) {
      return;
    }
    l.held = false;
    clearTimeout(l.lossTimer);
    l.ac?.abort();
    o.logger.warn({ event: 'lease_lost', lease: l.name, why }, 'lease lost: work stopped');
    try {
      await (
        await l.starting
      )?.();
    } catch (err) {
      o.logger.error({ err, lease: l.name }, 'owned work failed to stop');
    }
  };

  /** Arms the local deadline: if no renewal moves it, the work stops there. */
  const armLoss = (l: Lease): void => {
    clearTimeout(l.lossTimer);
    l.lossTimer = setTimeout(
      () => enqueue(l, () => (Date.now() >= l.heldUntil ? lose(l, 'not renewed in time') : undefined)),
      Math.max(0, l.heldUntil - Date.now()),
    );
    l.lossTimer.unref();
  };

  const acquire = (l: Lease, sentAt: number): void => {
    l.held = true;
    l.heldUntil = sentAt + ttlMs - LEASE_DEFAULTS.safetyMs;
    armLoss(l);
    const ac = new AbortController();
    l.ac = ac;
    o.logger.info({ event: 'lease_acquired', lease: l.name }, 'lease acquired: work starting');
    l.starting = Promise.resolve()
      .then(() => l.work(ac.signal))
      .catch((err: unknown) => {
        // Give it up so that another instance (or this one, later) may try.
        o.logger.error({ err, lease: l.name }, 'owned work failed to start: releasing its lease');
        enqueue(l, async () => {
          l.pausedUntil = Date.now() + LEASE_DEFAULTS.failedStartPauseMs;
          await lose(l, 'work failed to start');
          await client.sgLeaseRelease(l.key, token).catch(() => undefined);
        });
        return undefined;
      });
  };

  const step = async (l: Lease): Promise<void> => {
    if (l.closed) {
      return;
    }
    const sentAt = Date.now();
    try {
      if (l.held) {
        if (sentAt >= l.heldUntil) {
          await lose(l, 'not renewed in time');
        } else if ((await client.sgLeaseRenew(l.key, token, ttlMs)) === 1) {
          l.heldUntil = sentAt + ttlMs - LEASE_DEFAULTS.safetyMs;
          armLoss(l);
        } else {
          await lose(l, 'taken over (expired in Redis)');
        }
      } else if (sentAt >= l.pausedUntil && (await client.set(l.key, token, 'PX', ttlMs, 'NX')) === 'OK') {
        acquire(l, sentAt);
      }
    } catch (err) {
      // Redis unreachable or hung: the loss timer stops the work in time if this goes on.
      o.logger.debug({ err, lease: l.name }, 'lease command failed');
    }
  };

  const enqueue = (l: Lease, op: () => Promise<void> | void): Promise<void> => {
    l.chain = l.chain.then(op, op);
    return l.chain;
  };

  const tick = (): void => {
    for (const l of leases.values()) {
      if (!l.busy) {
        l.busy = true;
        void enqueue(l, () => step(l)).finally(() => (l.busy = false));
      }
    }
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();

  const release = (l: Lease): Promise<void> =>
    enqueue(l, async () => {
      l.closed = true;
      leases.delete(l.name);
      const held = l.held;
      await lose(l, 'released');
      if (held) {
        await client.sgLeaseRelease(l.key, token).catch(() => undefined);
      }
    });

  return {
    own(name, work) {
      if (leases.has(name)) {
        throw new Error(`lease ${name} is already owned by this instance`);
      }
      const l: Lease = {
        name,
        key: `${o.keyPrefix}lease:${name}`,
        work,
        held: false,
        heldUntil: 0,
        chain: Promise.resolve(),
        busy: false,
        closed: false,
        pausedUntil: 0,
      };
      leases.set(name, l);
      // Try at once: a lease nobody holds is taken at start rather than one interval later.
      client.once('ready', tick);
      if (client.status === 'ready') {
        tick();
      }
      return () => release(l);
    },
    holds: (name) => leases.get(name)?.held === true,
    leases: () => new Map([...leases.values()].map((l) => [l.name, l.held])),
    async stop() {
      clearInterval(timer);
      await Promise.all([...leases.values()].map(release));
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
