/**
 * Bounded render rate with a leading edge: `run` is called at most once per `minMs`, and a request
 * that arrives when nothing ran within the last `minMs` runs at once (a quiet panel shows a new
 * message without waiting). Requests inside the interval coalesce into one trailing run at the
 * interval's end, so nothing asked for is dropped and the last request is always followed by a run.
 * One implementation for every kind of target (streams, current state).
 */
export interface Throttle {
  /** Asks for a run: now when the interval since the last run has passed, else one trailing run. */
  schedule(): void;
  /** Records a run that happened outside schedule() (an immediate emission). */
  ran(): void;
  cancel(): void;
}

/** The timer functions the throttle uses; injectable so tests drive it with a fake clock. */
export interface ThrottleTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const globalTimers: ThrottleTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export function createThrottle(
  minMs: number,
  now: () => number,
  run: () => void,
  timers: ThrottleTimers = globalTimers
): Throttle {
  let timer: unknown;
  let last = -Infinity;
  let cancelled = false;
  return {
    schedule() {
      if (timer !== undefined || cancelled) {
        // A trailing run is already due: it will carry this request too.
        return;
      }
      const wait = minMs - (now() - last);
      if (wait <= 0) {
        last = now();
        run();
        return;
      }
      timer = timers.setTimeout(() => {
        timer = undefined;
        if (cancelled) {
          return;
        }
        last = now();
        run();
      }, wait);
    },
    ran() {
      last = now();
    },
    cancel() {
      cancelled = true;
      if (timer !== undefined) {
        timers.clearTimeout(timer);
      }
      timer = undefined;
    },
  };
}
