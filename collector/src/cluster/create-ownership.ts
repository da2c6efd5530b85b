/**
 * The ownership the store calls for: leases in Redis when instances share a Redis store, or a
 * single owner (this instance) with SQLite. Also exports streamgauge_cluster_lease_held.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../collector-config';
import type { Logger } from '../logger';
import { createLocalOwnership } from './local-ownership';
import type { Ownership } from './ownership';
import { createRedisOwnership } from './redis-ownership';

export function createOwnership(config: Config, logger: Logger, registry: Registry): Ownership {
  const ownership =
    config.store.type === 'redis'
      ? createRedisOwnership({ url: config.store.redis.urls[0], keyPrefix: config.store.redis.keyPrefix, logger })
      : createLocalOwnership(logger);
  new Gauge({
    name: 'streamgauge_cluster_lease_held',
    help: 'Leases of derived work (telemetry, each source) this instance competes for: 1 while it holds one, 0 otherwise.',
    labelNames: ['lease'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [lease, held] of ownership.leases()) {
        this.set({ lease }, held ? 1 : 0);
      }
    },
  });
  return ownership;
}
