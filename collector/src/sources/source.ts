import type { Registry } from 'prom-client';
import type { Config } from '../config/load-config';
import type { Hub } from '../hub/hub';
import type { Logger } from '../logger';

/** What a source gets: the hub to declare channels and publish into, config, logs, the metrics registry. */
export interface SourceContext {
  hub: Hub;
  config: Config;
  logger: Logger;
  registry: Registry;
}

/** Anything that produces messages inside the collector (a chain follower, demo traffic). */
export interface Source {
  readonly name: string;
  /** Starts the source; resolves with its stop function once it runs. */
  start(ctx: SourceContext): Promise<() => Promise<void> | void>;
}
