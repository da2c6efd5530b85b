'use strict';
/**
 * Fixed-bucket latency histograms: one Uint32Array, allocated once, so recording in the hot path
 * allocates nothing. Fine buckets (10 µs up to 2 s) serve the live latencies; coarse buckets
 * (1 ms up to 20 s) serve the 5-second snapshot baseline.
 */

const FINE = { bucketMs: 0.01, buckets: 200_000 };
const COARSE = { bucketMs: 1, buckets: 20_000 };

function createHistogram(spec = FINE) {
  return { spec, counts: new Uint32Array(spec.buckets + 1), max: 0, n: 0 };
}

function record(h, ms, weight) {
  let i = Math.floor(ms / h.spec.bucketMs);
  if (i < 0) i = 0;
  if (i > h.spec.buckets) i = h.spec.buckets; // last bucket = overflow; max keeps the true value
  h.counts[i] += weight;
  h.n += weight;
  if (ms > h.max) h.max = ms;
}

function reset(h) {
  h.counts.fill(0);
  h.max = 0;
  h.n = 0;
}

/** Adds b into a (same spec). */
function merge(a, b) {
  for (let i = 0; i < a.counts.length; i++) a.counts[i] += b.counts[i];
  a.n += b.n;
  if (b.max > a.max) a.max = b.max;
  return a;
}

/** Percentile in ms (upper edge of the bucket holding it), or null when empty. */
function percentile(h, p) {
  if (h.n === 0) return null;
  const target = Math.ceil((p / 100) * h.n);
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i];
    if (seen >= target) return i >= h.spec.buckets ? h.max : Math.min(h.max, (i + 1) * h.spec.bucketMs);
  }
  return h.max;
}

function summary(h) {
  return { n: h.n, p50: percentile(h, 50), p99: percentile(h, 99), max: h.n ? h.max : null };
}

/**
 * The latency a snapshot system would show: the same deliveries, held until the next tick of a
 * `periodMs` broadcast. Averaged over every tick phase (uniform on [0, periodMs)), so the result
 * does not depend on where the ticks fell during the run: P(snap <= x) = mean over u of
 * P(lat <= x - u). Returned as a COARSE (1 ms) histogram summary.
 */
function snapshotSummary(h, periodMs) {
  if (h.n === 0) return { n: 0, p50: null, p99: null, max: null };
  const step = COARSE.bucketMs;
  const latMax = Math.ceil(h.max / step) + 1;
  // cdf[k] = P(lat <= k ms)
  const cdf = new Float64Array(latMax + 1);
  let seen = 0;
  let k = 0;
  for (let i = 0; i < h.counts.length; i++) {
    if (h.counts[i] === 0) continue;
    const upper = i >= h.spec.buckets ? h.max : (i + 1) * h.spec.bucketMs;
    const kk = Math.min(latMax, Math.ceil(upper / step));
    for (; k < kk; k++) cdf[k] = seen / h.n;
    seen += h.counts[i];
  }
  for (; k <= latMax; k++) cdf[k] = seen / h.n;
  const P = Math.round(periodMs / step);
  // prefix[j] = sum of cdf[0..j-1], so that a mean over a window of cdf is O(1).
  const prefix = new Float64Array(latMax + 2);
  for (let j = 0; j <= latMax; j++) prefix[j + 1] = prefix[j] + cdf[j];
  const cdfAt = (j) => (j < 0 ? 0 : j > latMax ? 1 : cdf[j]);
  const snapCdf = (x) => {
    // mean over u = 0..P-1 of cdfAt(x - u)
    const lo = x - P + 1;
    const hi = x;
    let sum = 0;
    const a = Math.max(0, lo);
    const b = Math.min(latMax, hi);
    if (b >= a) sum += prefix[b + 1] - prefix[a];
    if (hi > latMax) sum += hi - Math.max(latMax + 1, lo) + 1;
    return sum / P;
  };
  const q = (p) => {
    let x = 0;
    while (snapCdf(x) < p / 100) x++;
    return x * step;
  };
  return { n: h.n, p50: q(50), p99: q(99), max: periodMs + h.max };
}

module.exports = { FINE, COARSE, createHistogram, record, reset, merge, percentile, summary, snapshotSummary };
