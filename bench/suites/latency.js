'use strict';
/**
 * Publish-to-deliver latency: a publisher POSTs batches to /api/v1/publish at a fixed rate, 100
 * WebSocket subscribers (two worker threads of 50) timestamp arrival. The same run is repeated
 * against the bare ws broadcast server and Socket.IO, and the 5-second snapshot baseline is
 * computed from the collector's own arrival times (delivery at the next 5 s tick).
 */
const { startServer, publishJson } = require('../lib/server-process');
const { startSubscribers, sleep } = require('../lib/subscribers');
const { buildRequests, Publisher } = require('../lib/load-publisher');
const { cpuSplit } = require('../lib/cpu-split');

const CHANNEL = 'bench/lat';
/** Pads data to about 100 bytes per message, a typical monitoring event. */
const PAD = 'x'.repeat(64);

async function runLatency(ctx, { kind, rate, subscribers = 100, profile = false }) {
  const batchSize = Math.max(1, Math.round(rate / 1_000)); // 1,000 requests/s at every rate
  const warmS = ctx.quick ? 1 : 2;
  const measureS = ctx.quick ? 2 : 6;
  const server = await startServer({ kind, cpuProfDir: profile ? ctx.profileDir : undefined });
  const sendTimesSab = new SharedArrayBuffer(8 * 1_000_000); // indexed by batch: 1,000 per second
  const sendTimes = new Float64Array(sendTimesSab);
  let subs;
  let pub;
  try {
    if (kind === 'collector') await publishJson(server.url, [{ channel: CHANNEL, data: { s: 0, pad: PAD } }]);
    subs = await startSubscribers({
      mode: server.mode, url: server.wsUrl, channel: CHANNEL, clients: subscribers, workers: 2,
      sendTimesSab, batchSize, snapshotMs: 5_000, keyField: 'seq',
      onErrorFrame: (f) => ctx.log(`  error frame: ${f}`),
    });
    // One connection keeps publish order = seq order (pipelined requests are handled in order).
    pub = new Publisher({ port: server.port, connections: 1 });
    await pub.connect();
    // Seqs start at batchSize so that seq / batchSize is the batch index (batch 0 stays unused).
    const warmCount = rate * warmS;
    const warm = buildRequests({ host: '127.0.0.1', port: server.port, channel: CHANNEL, seq: batchSize, count: warmCount, batchSize, pad: PAD });
    const measured = buildRequests({ host: '127.0.0.1', port: server.port, channel: CHANNEL, seq: batchSize + warmCount, count: rate * measureS, batchSize, pad: PAD });
    subs.expect(batchSize);
    await pub.paced({ requests: warm, rate, batchSize, sendTimes, batchBase: 1 });
    await sleep(200);
    subs.record();
    await sleep(20);
    const cpu = cpuSplit(server);
    const t = await pub.paced({ requests: measured, rate, batchSize, sendTimes, batchBase: 1 + warm.length });
    const lastSeq = batchSize + warmCount + rate * measureS;
    let r;
    const deadline = Date.now() + 10_000;
    do {
      await sleep(50);
      r = await subs.report();
    } while (r.minExpected < lastSeq && Date.now() < deadline);
    const split = cpu();
    const expectedTotal = subscribers * (warmCount + rate * measureS);
    return {
      system: kind,
      rate,
      subscribers,
      batchSize,
      seconds: measureS,
      achievedRate: Math.round((rate * measureS) / (t.durationMs / 1000)),
      publishFailures: pub.failed,
      deliveredRatio: r.received / expectedTotal,
      gaps: r.gaps,
      dups: r.dups,
      latencyMs: r.latency,
      snapshotMs: r.snapshot,
      cpu: split,
    };
  } finally {
    if (pub) pub.close();
    if (subs) await subs.stop();
    await server.stop();
    server.cleanup();
  }
}

module.exports = { runLatency, PAD };
