#!/usr/bin/env node
'use strict';
/**
 * A/B of server CPU per million deliveries on the fan-out suite's load (1,000 subscribers, POSTs of
 * 100 messages), a few fixed steps instead of the whole ladder, systems interleaved per round:
 *   node bench/micro/fanout-cpu-ab.js [--rounds 3] [--steps 1000,2000,3000,4000] [--seconds 3]
 *        [--systems collector,ws-buffer] [--before collector/dist-before/main.js] [--profile]
 * `--before` adds "collector-before": another build of the collector (e.g. `cp -r collector/dist
 * collector/dist-before` before a change) run beside the current one. Per system and round: the
 * median over the steps; then the median over rounds, and each system's ratio to ws-buffer
 * per round (same run). Build first (`npm run build:collector`).
 */
const { parseArgs } = require('node:util');
const { mkdirSync } = require('node:fs');
const { join } = require('node:path');
const { runFanout } = require('../suites/fanout');
const { median } = require('../lib/rounds');

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
const ladder = values.steps.split(',').map(Number);
const systems = values.systems.split(',');
if (values.before) systems.push('collector-before');
const profileDir = join(__dirname, '..', 'results', 'profiles');
if (values.profile) mkdirSync(profileDir, { recursive: true });
const ctx = { quick: false, log: (s) => process.stderr.write(`${s}\n`), profileDir };

(async () => {
  const per = Object.fromEntries(systems.map((s) => [s, []]));
  const notes = Object.fromEntries(systems.map((s) => [s, []]));
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const sys of systems) {
      const kind = sys === 'collector-before' ? 'collector' : sys;
      const main = sys === 'collector-before' ? join(process.cwd(), values.before) : undefined;
      ctx.log(`round ${round}: ${sys}`);
      const r = await runFanout(ctx, { kind, main, ladder, stepSeconds: Number(values.seconds), profile: values.profile && round === 1 });
      // Every step that ran counts (on a loaded machine a step can fall behind or lose a client): the
      // figure is CPU per delivery actually made, which hardly depends on keeping up.
      per[sys].push(median(r.steps.map((s) => s.serverCpuMsPerMillion)));
      notes[sys].push(r.steps.map((s) => `${s.rate}:${s.pass ? 'ok' : s.complete ? 'lag' : 'loss'}`).join(' '));
    }
  }
  const out = {};
  for (const sys of systems) {
    const ratios = per[sys].map((v, i) => v / per['ws-buffer'][i]);
    out[sys] = {
      msPerMillionByRound: per[sys],
      median: median(per[sys]),
      ratioToWsBufferByRound: ratios.map((x) => Number(x.toFixed(3))),
      ratioMedian: Number(median(ratios).toFixed(3)),
      steps: notes[sys],
    };
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
