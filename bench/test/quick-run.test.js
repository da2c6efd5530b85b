/**
 * CI keeps the benchmark suite working: `npm run bench -- --quick` must run every suite end to end.
 * No figure is asserted (speed is reported, never tested); only that each suite ran and produced
 * its rows.
 */
const { spawnSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const SUITES = ['latency', 'fanout', 'connections', 'ingest', 'recovery', 'scrape', 'plugin', 'chain', 'redis'];

test('behavior: the quick benchmark runs every suite without error and writes its report', () => {
  const r = spawnSync(process.execPath, [join(__dirname, '../run.js'), '--quick'], {
    cwd: join(__dirname, '../..'),
    encoding: 'utf8',
    timeout: 420_000,
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
  expect(results.summary.length).toBeGreaterThanOrEqual(SUITES.length);
}, 480_000);
