import type { Config } from '../config/load-config';
import type { Logger } from '../logger';
import type { EventLog } from './event-log';
import { SqliteLog } from './sqlite-log';

/** The store named by store.type. */
export function createEventLog(config: Config, _logger: Logger): EventLog {
  switch (config.store.type) {
    case 'sqlite':
      return new SqliteLog({ path: config.store.path });
    default:
      throw new Error(`store.type ${config.store.type} is not available in this build`);
  }
}
