/**
 * A source that runs on one instance of a cluster at a time: it competes for the lease
 * `source:<name>`, starts the source when it wins it and stops it when it loses it (the context's
 * signal is aborted and the source's stop called). A chain follower then resumes on the new holder
 * from its last published block, which it reads back from the log (docs/scaling.md).
 *
 * Generic over the context so that it wraps any Source without knowing what its context holds.
 */
import type { Ownership, WorkStop } from './ownership';

interface StartableSource<C> {
  readonly name: string;
  start(ctx: C): Promise<WorkStop>;
}

export function ownedSource<C extends object, S extends StartableSource<C>>(source: S, ownership: Ownership): StartableSource<C> {
  return {
    name: source.name,
    async start(ctx: C) {
      return ownership.own(`source:${source.name}`, (signal) => {
        const outer = (ctx as { signal?: AbortSignal }).signal;
        const combined = outer ? AbortSignal.any([outer, signal]) : signal;
        // The same context (its prototype keeps any methods), with the lease's signal.
        const owned = Object.create(ctx, { signal: { value: combined, enumerable: true } }) as C;
        return source.start(owned);
      });
    },
  };
}
