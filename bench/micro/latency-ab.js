#!/usr/bin/env node
'use strict';
/**
 * A/B of publish-to-deliver latency (the latency suite's load: 100 subscribers, POSTs of rate/1,000
 * messages at 1,000 requests/s), systems interleaved per round with the order reversed every other
 * round, so that drift of this VM's speed lands on every system alike:
 *   node bench/micro/latency-ab.js [--rate 10000] [--rounds 4] [--systems collector,ws]
 *        [--before collector/dist-before/main.js]
 * `--before` adds "collector-before": another build of the collector (`cp -r collector/dist
 * collector/dist-before` before a change, `npm run build:collector` after). Prints every round and,
 * per system, the median p50 / p99 over rounds and the median of its per-round p99 ratio to bare
 * ws. Build first. Run it with nothing else on the machine: the figures are p99s of two shared cores.
 */
const { parseArgs } = require('node:util');
const { join } = require('node:path');
const { runLatency } = require('../suites/latency');
const { median, roundOrder } = require('../lib/rounds');

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '4' },
    systems: { type: 'string', default: 'collector,ws' },
    before: { type: 'string' },
  },
});
const systems = values.systems.split(',').map((s) => ({ name: s, kind: s }));
if (values.before) {
  systems.push({ name: 'collector-before', kind: 'collector', main: join(process.cwd(), values.before) });
}
const ctx = { quick: false, log: (s) => process.stderr.write(`${s}\n`) };

(async () => {
  const rate = Number(values.rate);
  const rounds = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    const round = {};
    for (const s of roundOrder(systems, r + 1)) {
      const x = await runLatency(ctx, { kind: s.kind, rate, main: s.main });
      round[s.name] = { p50: x.latencyMs.p50, p99: x.latencyMs.p99, serverCores: x.cpu.serverCores, gaps: x.gaps, dups: x.dups };
      process.stderr.write(`round ${r + 1} ${s.name}: ${JSON.stringify(round[s.name])}\n`);
    }
    rounds.push(round);
  }
  const out = {};
  for (const s of systems) {
    const mine = rounds.map((r) => r[s.name]);
    out[s.name] = {
      p50: median(mine.map((x) => x.p50)),
      p99: median(mine.map((x) => x.p99)),
      p99ByRound: mine.map((x) => x.p99),
      ...(rounds[0].ws ? { p99RatioToWs: median(rounds.map((r) => r[s.name].p99 / r.ws.p99)) } : {}),
    };
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
