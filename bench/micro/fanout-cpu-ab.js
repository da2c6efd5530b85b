#!/usr/bin/env node
'use strict';
/**
 * A/B of server CPU per million deliveries on the fan-out suite's load (1,000 subscribers, POSTs of
 * 100 messages), a few fixed steps instead of the whole ladder, systems interleaved per round:
 *   node bench/micro/fanout-cpu-ab.js [--rounds 3] [--steps 1000,2000,3000,4000] [--seconds 3]
 *        [--systems collector,ws-buffer] [--before collector/dist-before/main.js] [--profile]
 * (bench/suites/fanout-cpu.js: the systems alternate within each round.)
 * `--before` adds "collector-before": another build of the collector (e.g. `cp -r collector/dist
 * collector/dist-before` before a change) run beside the current one. Per system and round: the
 * median over the steps; then the median over rounds, and each system's ratio to ws-buffer
 * per round (same run). Build first (`npm run build:collector`).
 */
const { parseArgs } = require('node:util');
const { mkdirSync } = require('node:fs');
const { join } = require('node:path');
const { runFanoutCpu } = require('../suites/fanout-cpu');

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '1000,2000,3000,4000' },
    seconds: { type: 'string', default: '3' },
    systems: { type: 'string', default: 'collector,ws-buffer' },
    before: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
const systems = values.systems.split(',');
const mains = {};
if (values.before) {
  systems.push('collector-before');
  mains['collector-before'] = join(process.cwd(), values.before);
}
const profileDir = join(__dirname, '..', 'results', 'profiles');
if (values.profile) mkdirSync(profileDir, { recursive: true });
const ctx = { quick: false, log: (s) => process.stderr.write(`${s}\n`), profileDir };

(async () => {
  const r = await runFanoutCpu(ctx, {
    systems,
    mains,
    steps: values.steps.split(',').map(Number),
    rounds: Number(values.rounds),
    stepSeconds: Number(values.seconds),
    profile: values.profile,
  });
  const out = {};
  for (const [sys, x] of Object.entries(r.systems)) {
    out[sys] = {
      msPerMillionByRound: x.byRound.map((b) => b.msPerMillion),
      median: x.medianMsPerMillion,
      ratioToWsBufferByRound: x.ratioToWsBufferByRound,
      ratioMedian: x.ratioMedian,
      steps: x.byRound.map((b) => b.steps.map((s) => `${s.rate}:${s.result}`).join(' ')),
    };
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
