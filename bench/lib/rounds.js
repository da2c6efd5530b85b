'use strict';
/**
 * Several rounds of one measurement, reduced to one figure per statistic: the median of the
 * rounds, never the best (other load on a shared machine only ever adds latency, but picking the
 * least disturbed round flatters every system and hides how often that happens). Every round is
 * kept beside the median.
 */

function median(xs) {
  const v = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Latency summaries ({p50, p99, max, n}) of several rounds -> the median of each statistic. */
function medianLatency(list) {
  return {
    p50: median(list.map((l) => l.p50)),
    p99: median(list.map((l) => l.p99)),
    max: median(list.map((l) => l.max)),
    n: list.reduce((s, l) => s + (l.n || 0), 0),
    rounds: list.length,
  };
}

/**
 * The order of the systems in round `round` (1-based) of an alternating measurement: as given in
 * odd rounds, reversed in even ones, so that a drift of the machine's speed during a round does not
 * always land on the same system (bench/suites/fanout-cpu.js, bench/micro/latency-ab.js).
 */
function roundOrder(systems, round) {
  return round % 2 === 1 ? systems : [...systems].reverse();
}

module.exports = { median, medianLatency, roundOrder };
