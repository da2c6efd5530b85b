/**
 * Bounded render rate with a leading edge: `run` is called at most once per `minMs`, and a request
 * that arrives when nothing ran within the last `minMs` runs at once (a quiet panel shows a new
 * message without waiting). Requests inside the interval coalesce into one trailing run at the
 * interval's end, so nothing asked for is dropped and the last request is always followed by a run.
 * One implementation for every kind of target (streams, current state).
 *
 * The throttles of one data source share a render clock: their trailing runs are driven by ONE
 * timer, and every throttle due when it fires runs in that same task. The panels of a dashboard
 * get their messages from the one socket in the same task, so their emissions stay together and
 * the browser renders them in one frame; with a timer each, late timers drift the panels apart
 * until every frame carries some panel's emission (10 panels at 33 emissions/s: a frame at nearly
 * every vsync, measured with the browser bench, docs/benchmarks.md). Each throttle keeps its own
 * bound: a trailing run never comes before its own last run + minMs; throttles due within minMs / 5
 * of each other wait for the last of them, so a request waits at most minMs * 1.2.
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

/** Drives the trailing runs of several throttles with one timer (see the file comment). */
export interface RenderClock {
  throttle(run: () => void): Throttle;
}

interface Member {
  run: () => void;
  last: number;
  cancelled: boolean;
}

export function createRenderClock(
  minMs: number,
  now: () => number,
  timers: ThrottleTimers = globalTimers
): RenderClock {
  /** Throttles with a trailing run due, and when it is due (their last run + minMs). */
  const due = new Map<Member, number>();
  let timer: unknown;
  let timerAt = Infinity;

  /**
   * Throttles that fall due within this long after the first one run with it, at the last of
   * their due times: never before their own bound, at most minMs / 5 late. Their leading runs in
   * one socket task can cross milliseconds; this brings them onto one tick.
   */
  const alignMs = minMs / 5;
  const arm = () => {
    let first = Infinity;
    for (const at of due.values()) {
      first = Math.min(first, at);
    }
    let next = first;
    for (const at of due.values()) {
      if (at <= first + alignMs) {
        next = Math.max(next, at);
      }
    }
    if (next === timerAt) {
      return;
    }
    if (timer !== undefined) {
      timers.clearTimeout(timer);
      timer = undefined;
    }
    timerAt = next;
    if (next !== Infinity) {
      timer = timers.setTimeout(fire, Math.max(0, next - now()));
    }
  };

  const fire = () => {
    // The timer decides that `firedFor` has come: `now()` (Date.now) can read a millisecond behind
    // the timer's own clock, and re-arming for that millisecond would be clamped to 4 ms by
    // browsers (nested timers) and slow every panel down.
    const firedFor = timerAt;
    timer = undefined;
    timerAt = Infinity;
    const t = now();
    const limit = Math.max(t, firedFor);
    const ready: Member[] = [];
    for (const [m, at] of due) {
      if (at <= limit) {
        ready.push(m);
      }
    }
    for (const m of ready) {
      due.delete(m);
    }
    for (const m of ready) {
      if (!m.cancelled) {
        m.run();
        // The tick's time, not each run's (set after run: a run reports itself with ran()):
        // runs of one tick that cross a millisecond would otherwise fall due a millisecond
        // apart and split into two ticks from then on.
        m.last = t;
      }
    }
    arm();
  };

  return {
    throttle(run) {
      const m: Member = { run, last: -Infinity, cancelled: false };
      return {
        schedule() {
          if (m.cancelled || due.has(m)) {
            // A trailing run is already due: it will carry this request too.
            return;
          }
          const at = m.last + minMs;
          if (at <= now()) {
            m.last = now();
            run();
            return;
          }
          due.set(m, at);
          arm();
        },
        ran() {
          m.last = now();
        },
        cancel() {
          m.cancelled = true;
          if (due.delete(m)) {
            arm();
          }
        },
      };
    },
  };
}

/** A throttle on a clock of its own. */
export function createThrottle(
  minMs: number,
  now: () => number,
  run: () => void,
  timers: ThrottleTimers = globalTimers
): Throttle {
  return createRenderClock(minMs, now, timers).throttle(run);
}
