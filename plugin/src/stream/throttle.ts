/**
 * Bounded render rate: however many messages arrive, `run` is called at most once per `minMs`
 * (the first call of a quiet period waits only what is left of the interval). One implementation
 * for every kind of target (streams, current state).
 */
export interface Throttle {
  /** Asks for a run; several asks before it happens make one run. */
  schedule(): void;
  /** Records a run that happened outside schedule() (an immediate emission). */
  ran(): void;
  cancel(): void;
}

export function createThrottle(minMs: number, now: () => number, run: () => void): Throttle {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = 0;
  let cancelled = false;
  return {
    schedule() {
      if (timer !== undefined || cancelled) {
        return;
      }
      timer = setTimeout(
        () => {
          timer = undefined;
          last = now();
          run();
        },
        Math.max(0, minMs - (now() - last))
      );
    },
    ran() {
      last = now();
    },
    cancel() {
      cancelled = true;
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
