/** The reduction of several rounds: medians, never the best round. */
const { median, medianLatency, roundOrder } = require('../lib/rounds');

test('median of odd and even counts, ignoring missing values', () => {
  expect(median([5, 1, 3])).toBe(3);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(median([null, 2, undefined])).toBe(2);
  expect(median([])).toBeNull();
});

test('medianLatency takes each statistic on its own, not the round with the best p99', () => {
  const m = medianLatency([
    { p50: 1, p99: 9, max: 20, n: 10 },
    { p50: 3, p99: 2, max: 30, n: 10 },
    { p50: 2, p99: 5, max: 10, n: 10 },
  ]);
  expect(m).toEqual({ p50: 2, p99: 5, max: 20, n: 30, rounds: 3 });
});

test('roundOrder: the systems as given in odd rounds, reversed in even ones, the list itself untouched', () => {
  const systems = ['collector', 'ws-buffer', 'ws'];
  expect([1, 2, 3, 4].map((r) => roundOrder(systems, r))).toEqual([
    ['collector', 'ws-buffer', 'ws'],
    ['ws', 'ws-buffer', 'collector'],
    ['collector', 'ws-buffer', 'ws'],
    ['ws', 'ws-buffer', 'collector'],
  ]);
  expect(systems).toEqual(['collector', 'ws-buffer', 'ws']);
});
