import { createRenderClock, createThrottle, type ThrottleTimers } from '../throttle';

/** A fake clock: time moves only when the test says, and due timers fire in order as it passes. */
function fakeClock() {
  let t = 1_000_000;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const api: ThrottleTimers = {
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.set(id, { at: t + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(h) {
      timers.delete(h as number);
    },
  };
  const advanceTo = (target: number) => {
    for (;;) {
      const due = [...timers.entries()].filter(([, v]) => v.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) {
        break;
      }
      timers.delete(due[0]);
      t = due[1].at;
      due[1].fn();
    }
    t = target;
  };
  /** Time spent inside a callback (a run that takes a while): moves the clock, fires nothing. */
  const spend = (ms: number) => {
    t += ms;
  };
  return { now: () => t, timers: api, advanceTo, spend, pending: () => timers.size };
}

/** A target in miniature: messages queue up, each run emits the whole queue at the clock's time. */
function harness(minMs: number) {
  const clock = fakeClock();
  let queue: number[] = [];
  const emissions: Array<{ at: number; items: number[] }> = [];
  const throttle = createThrottle(
    minMs,
    clock.now,
    () => {
      emissions.push({ at: clock.now(), items: queue });
      queue = [];
    },
    clock.timers
  );
  const arrive = (m: number) => {
    queue.push(m);
    throttle.schedule();
  };
  return { clock, throttle, emissions, arrive };
}

describe('render throttle (leading edge, one trailing emission)', () => {
  test('behavior: the first message of a quiet period is emitted at once', () => {
    const h = harness(30);
    h.arrive(1);
    expect(h.emissions).toEqual([{ at: h.clock.now(), items: [1] }]);
    expect(h.clock.pending()).toBe(0);
    // After a quiet interval, again at once.
    h.clock.advanceTo(h.clock.now() + 30);
    h.arrive(2);
    expect(h.emissions.map((e) => e.items)).toEqual([[1], [2]]);
  });

  test('behavior: messages inside the interval coalesce into one trailing emission at its end', () => {
    const h = harness(30);
    const t0 = h.clock.now();
    h.arrive(1);
    h.clock.advanceTo(t0 + 5);
    h.arrive(2);
    h.clock.advanceTo(t0 + 12);
    h.arrive(3);
    h.arrive(4);
    expect(h.emissions).toHaveLength(1);
    h.clock.advanceTo(t0 + 29);
    expect(h.emissions).toHaveLength(1);
    h.clock.advanceTo(t0 + 30);
    expect(h.emissions).toEqual([
      { at: t0, items: [1] },
      { at: t0 + 30, items: [2, 3, 4] },
    ]);
  });

  test('behavior: under a steady flood, at most one emission per interval, nothing lost, the last message emitted', () => {
    const minMs = 30;
    const h = harness(minMs);
    const t0 = h.clock.now();
    // 1,000 msg/s in bursts of 10 every 10 ms (the browser bench's publisher), then irregular gaps.
    let n = 0;
    for (let ms = 0; ms < 2_000; ms += 10) {
      h.clock.advanceTo(t0 + ms);
      for (let k = 0; k < 10; k++) {
        h.arrive(++n);
      }
    }
    for (const gap of [1, 45, 3, 29, 31, 0, 70, 2]) {
      h.clock.advanceTo(h.clock.now() + gap);
      h.arrive(++n);
    }
    h.clock.advanceTo(h.clock.now() + 10 * minMs);
    const all = h.emissions.flatMap((e) => e.items);
    expect(all).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(h.emissions[h.emissions.length - 1].items).toContain(n);
    for (let i = 1; i < h.emissions.length; i++) {
      expect(h.emissions[i].at - h.emissions[i - 1].at).toBeGreaterThanOrEqual(minMs);
    }
    expect(h.emissions.every((e) => e.items.length > 0)).toBe(true);
    expect(h.clock.pending()).toBe(0);
  });

  test('behavior: no message waits longer than one interval', () => {
    const minMs = 30;
    const h = harness(minMs);
    const arrivedAt = new Map<number, number>();
    let n = 0;
    let t = h.clock.now();
    for (const gap of [0, 7, 7, 7, 7, 40, 1, 1, 33, 29, 1, 100, 15, 15, 15]) {
      t += gap;
      h.clock.advanceTo(t);
      arrivedAt.set(++n, t);
      h.arrive(n);
    }
    h.clock.advanceTo(t + minMs);
    for (const e of h.emissions) {
      for (const m of e.items) {
        expect(e.at - arrivedAt.get(m)!).toBeLessThanOrEqual(minMs);
      }
    }
  });

  test('behavior: an emission outside the throttle (ran) starts the interval; cancel drops the trailing run', () => {
    const h = harness(30);
    const t0 = h.clock.now();
    h.throttle.ran();
    h.arrive(1);
    expect(h.emissions).toHaveLength(0);
    h.clock.advanceTo(t0 + 30);
    expect(h.emissions).toEqual([{ at: t0 + 30, items: [1] }]);
    h.arrive(2);
    h.throttle.cancel();
    h.clock.advanceTo(t0 + 100);
    h.arrive(3);
    expect(h.emissions).toHaveLength(1);
    expect(h.clock.pending()).toBe(0);
  });
});

describe('render clock (the throttles of one data source share one timer)', () => {
  /** `panels` targets on one clock, each with its own queue and emissions. */
  function dashboard(minMs: number, panels: number) {
    const clock = fakeClock();
    const rc = createRenderClock(minMs, clock.now, clock.timers);
    const targets = Array.from({ length: panels }, () => {
      const emissions: Array<{ at: number; items: number[] }> = [];
      let queue: number[] = [];
      const throttle = rc.throttle(() => {
        emissions.push({ at: clock.now(), items: queue });
        queue = [];
      });
      const arrive = (m: number) => {
        queue.push(m);
        throttle.schedule();
      };
      return { emissions, throttle, arrive };
    });
    return { clock, targets };
  }

  test('behavior: panels fed in the same task emit their trailing frames from one timer, at the same time', () => {
    const d = dashboard(30, 3);
    const t0 = d.clock.now();
    // The socket delivers each batch to every panel in one task.
    for (const ms of [0, 10, 20]) {
      d.clock.advanceTo(t0 + ms);
      d.targets.forEach((t) => t.arrive(ms));
    }
    expect(d.clock.pending()).toBe(1);
    d.clock.advanceTo(t0 + 30);
    for (const t of d.targets) {
      expect(t.emissions).toEqual([
        { at: t0, items: [0] },
        { at: t0 + 30, items: [10, 20] },
      ]);
    }
  });

  test('behavior: each panel keeps its own bound and loses nothing when panels are fed at different times', () => {
    const minMs = 30;
    const d = dashboard(minMs, 4);
    const t0 = d.clock.now();
    let n = 0;
    const sent: number[][] = d.targets.map(() => []);
    // Panel i gets a message every (7 + 3i) ms, for 2 s.
    for (let ms = 0; ms < 2_000; ms++) {
      d.clock.advanceTo(t0 + ms);
      d.targets.forEach((t, i) => {
        if (ms % (7 + 3 * i) === 0) {
          sent[i].push(++n);
          t.arrive(n);
        }
      });
    }
    d.clock.advanceTo(t0 + 2_000 + minMs);
    d.targets.forEach((t, i) => {
      expect(t.emissions.flatMap((e) => e.items)).toEqual(sent[i]);
      for (let k = 1; k < t.emissions.length; k++) {
        expect(t.emissions[k].at - t.emissions[k - 1].at).toBeGreaterThanOrEqual(minMs);
      }
    });
    expect(d.clock.pending()).toBe(0);
  });

  test('behavior: panels stay on one tick when the runs of a tick take time and report themselves (ran)', () => {
    const clock = fakeClock();
    const rc = createRenderClock(30, clock.now, clock.timers);
    const at: number[][] = [[], [], []];
    const throttles = at.map((times) => {
      const th = rc.throttle(() => {
        times.push(clock.now());
        // An emission reports itself (target-stream's emit calls ran()) and takes 1 ms.
        th.ran();
        clock.spend(1);
      });
      return th;
    });
    const t0 = clock.now();
    for (let ms = 0; ms <= 300; ms += 10) {
      clock.advanceTo(t0 + ms);
      throttles.forEach((th) => th.schedule());
      // One timer for the whole dashboard, whatever the runs took.
      expect(clock.pending()).toBeLessThanOrEqual(1);
    }
    clock.advanceTo(t0 + 400);
    // Every tick ran all three (their emission times differ only by the runs before them).
    const ticks = at.map((times) => times.length);
    expect(new Set(ticks).size).toBe(1);
    for (let k = 0; k < ticks[0]; k++) {
      expect(at[2][k] - at[0][k]).toBe(2);
    }
  });

  test('behavior: a cancelled panel never runs again; the others still emit', () => {
    const d = dashboard(30, 2);
    const t0 = d.clock.now();
    d.targets.forEach((t) => t.arrive(1));
    d.clock.advanceTo(t0 + 5);
    d.targets.forEach((t) => t.arrive(2));
    d.targets[0].throttle.cancel();
    d.clock.advanceTo(t0 + 100);
    expect(d.targets[0].emissions.map((e) => e.items)).toEqual([[1]]);
    expect(d.targets[1].emissions.map((e) => e.items)).toEqual([[1], [2]]);
    expect(d.clock.pending()).toBe(0);
  });
});
