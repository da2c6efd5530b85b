'use strict';
/**
 * Fan-out: 1,000 WebSocket subscribers (two worker threads of 500) on one channel; the publisher
 * POSTs batches of 100 messages at increasing rates. A step passes when every subscriber received
 * every message, in order, with no connection closed (the collector closes a client whose send
 * queue exceeds ws.maxQueueBytes: that is loss), and the whole step, from the first publish to the
 * last delivery to the slowest subscriber, took at most stepSeconds / 0.9: the system kept up
 * with the rate instead of queueing. The result is the highest passing rate x subscribers. Same steps against the bare ws server (same
 * per-turn batching), the bare ws server encoding once (ws-buffer) and Socket.IO.
 *
 * The ladder goes on until the system falls behind (a step that only fell behind is retried
 * once), so every ceiling is measured rather than "the highest step tried"; it is bounded by the
 * last step (far above what two cores deliver) and by MAX_LADDER_MS per system, and the result
 * says which bound ended it (`ceilingHit`, `stoppedBy`).
 */
const { startServer, publishJson } = require('../lib/server-process');
const { startSubscribers, sleep } = require('../lib/subscribers');
const { buildRequests, Publisher } = require('../lib/load-publisher');
const { cpuSplit } = require('../lib/cpu-split');
const { PAD } = require('./latency');

const CHANNEL = 'bench/fan';
const BATCH = 100;
// Past 10,000 msg/s (where two cores run out) the steps are at most 1/6 apart: a ceiling between
// two steps is reported as the lower one, and the target compares ceilings at a ratio of 0.8, which
// a coarser ladder could not tell (12,000 against 16,000 is 0.75 for systems nearly equal).
const LADDER = [
  500, 1_000, 1_500, 2_000, 3_000, 4_000, 5_000, 6_000, 8_000, 10_000, 12_000, 14_000, 16_000, 18_000, 20_000, 23_000, 26_000,
  30_000, 35_000, 40_000, 46_000, 53_000, 61_000, 70_000, 80_000, 90_000, 100_000,
];
/** Time bound of one system's ladder. */
const MAX_LADDER_MS = 180_000;

async function runFanout(ctx, { kind, subscribers = 1000, profile = false, ladder, stepSeconds, main }) {
  // Quick mode: two short steps, only to prove the suite works (no ceiling). `ladder`, `stepSeconds`
  // and `main` (another collector build) serve an A/B comparison (bench/micro/fanout-cpu-ab.js).
  const steps = ladder ? [...ladder] : ctx.quick ? [1_000, 2_000] : /* mutable: a retry inserts itself */ [...LADDER];
  const stepS = stepSeconds ?? (ctx.quick ? 1 : 3);
  const server = await startServer({ kind, main, cpuProfDir: profile ? ctx.profileDir : undefined });
  const sendTimesSab = new SharedArrayBuffer(8 * 400_000);
  const sendTimes = new Float64Array(sendTimesSab);
  let subs;
  let pub;
  const results = [];
  let stoppedBy = null;
  let idle = null;
  try {
    if (kind === 'collector') await publishJson(server.url, [{ channel: CHANNEL, data: { s: 0, pad: PAD } }]);
    subs = await startSubscribers({
      mode: server.mode, url: server.wsUrl, channel: CHANNEL, clients: subscribers, workers: 2,
      sendTimesSab, batchSize: BATCH, snapshotMs: 5_000, keyField: 'seq', concurrency: 100,
    });
    pub = new Publisher({ port: server.port, connections: 1 });
    await pub.connect();
    // What the server spends with its subscribers connected and nothing published (timers,
    // threads, heartbeats): part of every step's CPU, and most of it at the lowest rates. Reported
    // beside CPU per delivery, which also shows with it taken out (docs/benchmarks.md).
    const idleCpu = cpuSplit(server);
    await sleep(stepS * 1000);
    idle = idleCpu();
    let seq = BATCH;
    let retried = false;
    const ladderStart = Date.now();
    for (const rate of steps) {
      if (Date.now() - ladderStart > MAX_LADDER_MS) {
        stoppedBy = 'time bound';
        break;
      }
      const count = rate * stepS;
      const requests = buildRequests({ host: '127.0.0.1', port: server.port, channel: CHANNEL, seq, count, batchSize: BATCH, pad: PAD });
      subs.expect(seq);
      subs.record();
      const receivedBefore = (await subs.report()).received;
      const closedBefore = subs.closedCount();
      const failedBefore = pub.failed;
      const cpu = cpuSplit(server);
      const t0 = Date.now();
      await pub.paced({ requests, rate, batchSize: BATCH, sendTimes, batchBase: seq / BATCH });
      const end = seq + count;
      let r;
      const limitMs = (stepS * 1000) / 0.9;
      const deadline = t0 + limitMs + 2_000;
      do {
        await sleep(10);
        r = await subs.report();
      } while (r.minExpected < end && Date.now() < deadline);
      const tookMs = Date.now() - t0;
      const split = cpu();
      const complete = r.minExpected >= end && r.gaps === 0 && r.dups === 0 && subs.closedCount() === closedBefore && pub.failed === failedBefore;
      const pass = complete && tookMs <= limitMs;
      results.push({
        rate, delivered: rate * subscribers, pass, complete, tookMs, closed: subs.closedCount() - closedBefore, gaps: r.gaps, dups: r.dups,
        effectiveDelivered: Math.round(((r.received - receivedBefore) / tookMs) * 1000), latencyMs: r.latency, cpu: split,
        // Server CPU per million deliveries: what the server spends, whatever else shares the cores.
        serverCpuMsPerMillion: Math.round((split.serverCpuSeconds * 1000) / ((r.received - receivedBefore) / 1e6)),
        // The same without the idle cost over the step's duration: what the deliveries themselves cost.
        marginalCpuMsPerMillion: Math.round(
          (Math.max(0, split.serverCpuSeconds - idle.serverCores * split.wallSeconds) * 1000) / ((r.received - receivedBefore) / 1e6),
        ),
      });
      ctx.log(`    ${kind} ${rate} msg/s x ${subscribers}: ${pass ? 'ok' : complete ? 'LAG' : 'LOSS'} in ${tookMs} ms, p99 ${r.latency.p99} ms, server CPU ${results[results.length - 1].serverCpuMsPerMillion} ms per 1M deliveries, cores: server ${split.serverCores}, bench ${split.benchCores}, other ${split.otherCores}`);
      seq = end;
      if (!pass && complete && !retried) {
        // Fell behind without loss: one retry of the same rate, since a burst of other load on
        // the machine is enough to miss the deadline once.
        retried = true;
        steps.splice(steps.indexOf(rate) + 1, 0, rate);
        await sleep(300);
        continue;
      }
      if (!pass) {
        stoppedBy = complete ? 'fell behind' : 'loss';
        break;
      }
      await sleep(300);
    }
    if (!stoppedBy) stoppedBy = ctx.quick ? 'quick mode' : 'top of the ladder';
  } finally {
    if (pub) pub.close();
    if (subs) await subs.stop();
    await server.stop();
    server.cleanup();
  }
  const best = results.filter((s) => s.pass).pop();
  return {
    system: kind,
    subscribers,
    batchSize: BATCH,
    stepSeconds: stepS,
    idleServerCores: idle ? idle.serverCores : null,
    maxDelivered: best ? best.delivered : 0,
    maxPublished: best ? best.rate : 0,
    ceilingHit: results.length > 0 && !results[results.length - 1].pass,
    stoppedBy,
    steps: results,
  };
}

module.exports = { runFanout };
