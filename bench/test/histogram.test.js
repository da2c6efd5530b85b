const H = require('../lib/histogram');

describe('histogram', () => {
  test('percentiles are the upper edge of the 10 µs bucket holding them (at most the max), max is exact', () => {
    const h = H.createHistogram(H.FINE);
    for (let i = 1; i <= 100; i++) H.record(h, i / 10, 1); // 0.1 … 10 ms
    const s = H.summary(h);
    expect(s.n).toBe(100);
    expect(s.p50).toBeCloseTo(5.01, 5);
    expect(s.p99).toBeCloseTo(9.91, 5);
    expect(s.max).toBe(10);
  });

  test('a weighted record counts as that many messages', () => {
    const h = H.createHistogram(H.FINE);
    H.record(h, 1, 99);
    H.record(h, 50, 1);
    expect(H.percentile(h, 99)).toBeCloseTo(1.01, 5);
    expect(H.percentile(h, 100)).toBe(50);
  });

  test('values past the last bucket land in the overflow bucket and report the true max', () => {
    const h = H.createHistogram(H.FINE);
    H.record(h, 5_000, 1);
    expect(H.summary(h)).toEqual({ n: 1, p50: 5_000, p99: 5_000, max: 5_000 });
  });

  test('merge adds counts and keeps the larger max', () => {
    const a = H.createHistogram(H.FINE);
    const b = H.createHistogram(H.FINE);
    H.record(a, 1, 1);
    H.record(b, 3, 3);
    H.merge(a, b);
    expect(a.n).toBe(4);
    expect(a.max).toBe(3);
    expect(H.percentile(a, 50)).toBe(3); // the bucket edge (3.01) is capped at the true max
  });

  test('an empty histogram has no percentiles', () => {
    expect(H.summary(H.createHistogram(H.FINE))).toEqual({ n: 0, p50: null, p99: null, max: null });
  });
});

describe('snapshotSummary: the same deliveries held until the next 5-second tick', () => {
  test('with instant delivery the wait is uniform on [0, 5 s): p50 2.5 s, p99 4.95 s', () => {
    const h = H.createHistogram(H.FINE);
    H.record(h, 0, 1000);
    const s = H.snapshotSummary(h, 5_000);
    expect(s.p50).toBeGreaterThanOrEqual(2_499);
    expect(s.p50).toBeLessThanOrEqual(2_501);
    expect(s.p99).toBeGreaterThanOrEqual(4_949);
    expect(s.p99).toBeLessThanOrEqual(4_951);
    expect(s.max).toBe(5_000);
  });

  test('a constant 100 ms delivery shifts every percentile by 100 ms', () => {
    const h = H.createHistogram(H.FINE);
    H.record(h, 100, 1000);
    const s = H.snapshotSummary(h, 5_000);
    expect(s.p50).toBeGreaterThanOrEqual(2_599);
    expect(s.p50).toBeLessThanOrEqual(2_601);
    expect(s.max).toBe(5_100);
  });
});
