/**
 * CI keeps the benchmark suite working: `npm run bench -- --quick` must run every suite end to end.
 * No figure is asserted (speed is reported, never tested); only that each suite ran and produced
 * its rows, and that none of them was "not measured" (a missing build file, binary or browser
 * must fail here, not pass as a skipped suite).
 */
const { spawnSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const SUITES = ['latency', 'fanout', 'fanout-cpu', 'connections', 'ingest', 'recovery', 'scrape', 'browser', 'plugin', 'chain', 'redis'];

test('behavior: the quick benchmark runs and measures every suite without error and writes its report', () => {
  const r = spawnSync(process.execPath, [join(__dirname, '../run.js'), '--quick'], {
    cwd: join(__dirname, '../..'),
    encoding: 'utf8',
    timeout: 540_000,
    env: { ...process.env, SG_BENCH_NICE: '0' },
  });
  const out = `${r.stdout}${r.stderr}`;
  expect(out).toMatch(/done in \d+ s\n/);
  expect(out).not.toContain('FAILED');
  expect(r.status).toBe(0);
  const results = JSON.parse(readFileSync(join(__dirname, '../results/quick.json'), 'utf8'));
  expect(results.mode).toBe('quick');
  expect(results.errors).toEqual({});
  expect(Object.keys(results.suites).sort()).toEqual([...SUITES].sort());
  const unmeasured = Object.entries(results.suites).filter(([, v]) => v && !Array.isArray(v) && v.notMeasured);
  expect(unmeasured).toEqual([]);
  expect(results.summary.filter((row) => row.met === 'not measured')).toEqual([]);
  expect(results.summary.length).toBeGreaterThanOrEqual(SUITES.length);
  // Every system of the comparisons ran, the fair baseline included.
  expect(results.suites.fanout.map((x) => x.system).sort()).toEqual(['collector', 'socketio', 'ws', 'ws-buffer']);
  expect(Object.keys(results.suites['fanout-cpu'].systems).sort()).toEqual(['collector', 'ws-buffer']);
  expect(results.suites['fanout-cpu'].systems.collector.ratioMedian).toBeGreaterThan(0);
  expect(results.suites.browser.runs.length).toBeGreaterThan(0);
}, 600_000);
