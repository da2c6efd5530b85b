'use strict';
/**
 * Server CPU per million deliveries, the systems interleaved: each round runs the fan-out load (1,000
 * subscribers, POSTs of 100 messages, fanout.js) at a few fixed steps on every system in turn, the
 * order reversed every other round; per system and round the median over its steps; the figure is
 * the median over rounds, and the ratio the median of the per-round ratios to `ws-buffer`.
 *
 * Why not the ladders' CPU: each system's ladder runs for minutes one after the other, and the speed
 * of this shared VM drifts by more than the target's margin within minutes (one session's figures
 * halved between two full runs an hour apart). Rounds of a minute or so, alternated, put every
 * system under the same drift, as the latency rounds do. Used by the full bench and by
 * bench/micro/fanout-cpu-ab.js (an A/B of two collector builds).
 */
const { runFanout } = require('./fanout');
const { median, roundOrder } = require('../lib/rounds');

/** Median step 4,000 msg/s (4M deliveries/s): the middle of what two cores deliver. */
const STEPS = [1_000, 2_000, 4_000, 6_000, 8_000];

/**
 * @param {object} ctx
 * @param {{systems?: string[], steps?: number[], rounds?: number, stepSeconds?: number,
 *   mains?: Record<string, string>, profile?: boolean}} o `mains`: systems that are another build
 *   of the collector (name → its main.js), e.g. {"collector-before": "collector/dist-before/main.js"}.
 */
async function runFanoutCpu(ctx, { systems = ['collector', 'ws-buffer'], steps, rounds, stepSeconds, mains = {}, profile = false } = {}) {
  const ladder = steps || (ctx.quick ? [1_000] : STEPS);
  const n = rounds || (ctx.quick ? 1 : 3);
  const stepS = stepSeconds || (ctx.quick ? 1 : 3);
  const per = Object.fromEntries(systems.map((s) => [s, []]));
  for (let round = 1; round <= n; round++) {
    for (const sys of roundOrder(systems, round)) {
      ctx.log(`    round ${round}: ${sys}`);
      const r = await runFanout(ctx, {
        kind: mains[sys] ? 'collector' : sys,
        main: mains[sys],
        ladder,
        stepSeconds: stepS,
        profile: profile && round === 1 && sys === 'collector',
      });
      // Every step that ran counts (a step can fall behind on a loaded machine): the figure is CPU
      // per delivery actually made, which hardly depends on keeping up.
      per[sys].push({
        round,
        msPerMillion: median(r.steps.map((s) => s.serverCpuMsPerMillion)),
        idleServerCores: r.idleServerCores,
        steps: r.steps.map((s) => ({
          rate: s.rate,
          result: s.pass ? 'ok' : s.complete ? 'fell behind' : 'loss',
          serverCpuMsPerMillion: s.serverCpuMsPerMillion,
        })),
      });
    }
  }
  const base = per['ws-buffer'];
  const out = { steps: ladder, stepSeconds: stepS, rounds: n, systems: {} };
  for (const sys of systems) {
    const byRound = per[sys];
    const ratios = base ? byRound.map((x, i) => x.msPerMillion / base[i].msPerMillion) : [];
    out.systems[sys] = {
      byRound,
      medianMsPerMillion: median(byRound.map((x) => x.msPerMillion)),
      ratioToWsBufferByRound: ratios.map((x) => Number(x.toFixed(3))),
      ratioMedian: ratios.length ? Number(median(ratios).toFixed(3)) : null,
    };
  }
  return out;
}

module.exports = { runFanoutCpu, STEPS };
