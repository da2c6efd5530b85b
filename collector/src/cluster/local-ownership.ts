/**
 * Ownership for a single instance (the SQLite store): nobody else competes, so every lease is held
 * from the moment it is asked for until it is given up.
 */
import type { Logger } from '../logger';
import type { Ownership, OwnedWork, WorkStop } from './ownership';

export function createLocalOwnership(logger: Logger): Ownership {
  const running = new Map<string, { ac: AbortController; stop: Promise<WorkStop | undefined> }>();
  const release = async (name: string): Promise<void> => {
    const r = running.get(name);
    if (!r) {
      return;
    }
    running.delete(name);
    r.ac.abort();
    await (
      await r.stop
    )?.();
  };
  return {
    own(name: string, work: OwnedWork) {
      const ac = new AbortController();
      const stop = Promise.resolve()
        .then(() => work(ac.signal))
        .catch((err: unknown) => {
          logger.error({ err, lease: name }, 'owned work failed to start');
          return undefined;
        });
      running.set(name, { ac, stop });
      return () => release(name);
    },
    holds: (name) => running.has(name),
    leases: () => new Map([...running.keys()].map((name) => [name, true])),
    async stop() {
      for (const name of [...running.keys()]) {
        await release(name);
      }
    },
  };
}
