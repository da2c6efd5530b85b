import { backoffDelay } from '../backoff';

describe('backoffDelay (capped full jitter)', () => {
  test('the ceiling doubles per attempt from the minimum', () => {
    const top = () => 0.999999;
    expect(backoffDelay(0, 100, 10_000, top)).toBe(99);
    expect(backoffDelay(1, 100, 10_000, top)).toBe(199);
    expect(backoffDelay(3, 100, 10_000, top)).toBe(799);
  });

  test('never exceeds the cap, however many attempts', () => {
    for (const attempt of [7, 10, 50, 1000]) {
      expect(backoffDelay(attempt, 100, 10_000, () => 0.999999)).toBeLessThan(10_000);
    }
  });

  test('spreads delays over the whole interval (jitter), down to zero', () => {
    expect(backoffDelay(4, 100, 10_000, () => 0)).toBe(0);
    expect(backoffDelay(4, 100, 10_000, () => 0.5)).toBe(800);
    const seen = new Set(Array.from({ length: 200 }, () => backoffDelay(5, 100, 10_000)));
    expect(seen.size).toBeGreaterThan(50);
    for (const d of seen) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(3_200);
    }
  });
});
