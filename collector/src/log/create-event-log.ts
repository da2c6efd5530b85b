import type { Config } from '../collector-config';
import type { Logger } from '../logger';
import type { EventLog } from './event-log';
import { RedisLog } from './redis-log';
import { SqliteLog } from './sqlite-log';

/** The store named by store.type: SQLite for one instance, Redis Streams for several (docs/scaling.md). */
export function createEventLog(config: Config, logger: Logger): EventLog {
  switch (config.store.type) {
    case 'sqlite':
      return new SqliteLog({
        path: config.store.path,
        publishIdWindow: config.store.publishIdWindow,
        maxKeysPerChannel: config.channels.maxKeysPerChannel,
      });
    case 'redis':
      return new RedisLog({
        urls: config.store.redis.urls,
        keyPrefix: config.store.redis.keyPrefix,
        logger,
        publishIdWindow: config.store.publishIdWindow,
        maxKeysPerChannel: config.channels.maxKeysPerChannel,
      });
    default:
      throw new Error(`store.type ${String(config.store.type)} is not available in this build`);
  }
}
