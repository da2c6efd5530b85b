/**
 * A source that runs on one instance of a cluster at a time: it competes for the lease
 * `source:<name>`, starts the source when it wins it and stops it when it loses it (the context's
 * signal is aborted and the source's stop called). A chain follower then resumes on the new holder
 * from its last published block, which it reads back from the log (docs/scaling.md).
 *
 * Generic over the context so that it wraps any Source without knowing what its context holds.
 */
import type { Logger } from '../logger';
import type { Ownership, WorkStop } from './ownership';

interface StartableSource<C> {
  readonly name: string;
  start(ctx: C): Promise<WorkStop>;
}

export function ownedSource<C extends object, S extends StartableSource<C>>(
  source: S,
  ownership: Ownership,
  logger: Logger,
): StartableSource<C> {
  return {
    name: source.name,
    async start(ctx: C) {
      return ownership.own(`source:${source.name}`, (signal) => {
        const outer = (ctx as { signal?: AbortSignal }).signal;
        const combined = outer ? AbortSignal.any([outer, signal]) : signal;
        // The same context (its prototype keeps any methods), with the lease's signal.
        const owned = Object.create(ctx, { signal: { value: combined, enumerable: true } }) as C;
        return source.start(owned).then(
          (stop) => {
            logger.info({ source: source.name, lease: `source:${source.name}` }, 'source running on this instance (it holds the lease)');
            return stop;
          },
          (err: unknown) => {
            // A source that cannot start leaves the collector serving everything else (degraded state).
            logger.error({ err, source: source.name }, 'source failed to start');
            throw err;
          },
        );
      });
    },
  };
}
