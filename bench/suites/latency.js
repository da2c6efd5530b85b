'use strict';
/**
 * Publish-to-deliver latency: a publisher POSTs batches to /api/v1/publish at a fixed rate, 100
 * WebSocket subscribers (two worker threads of 50) timestamp arrival. The same run is repeated
 * against the bare ws broadcast server and Socket.IO, and the 5-second snapshot baseline is
 * computed from the collector's own arrival times (delivery at the next 5 s tick).
 *
 * Loss is counted by what each system promises: the collector by stored offset per channel (every
 * subscriber must see every offset once, up to the channel's last offset read back after the run);
 * the publisher's sequence numbers only find send times, and "reordered" counts frames whose
 * sequence numbers do not follow the stored order (a publish stored out of the order it was sent
 * in on its one connection: docs/protocol.md, "Order between requests"). The baselines have no
 * offsets: they are counted by sequence number.
 */
const { startServer, publishJson } = require('../lib/server-process');
const { startSubscribers, sleep } = require('../lib/subscribers');
const { buildRequests, Publisher } = require('../lib/load-publisher');
const { cpuSplit } = require('../lib/cpu-split');

const CHANNEL = 'bench/lat';
/** Pads data to about 100 bytes per message, a typical monitoring event. */
const PAD = 'x'.repeat(64);

async function runLatency(ctx, { kind, rate, subscribers = 100, profile = false, main }) {
  const batchSize = Math.max(1, Math.round(rate / 1_000)); // 1,000 requests/s at every rate
  const warmS = ctx.quick ? 1 : 2;
  const measureS = ctx.quick ? 2 : 6;
  const server = await startServer({ kind, main, cpuProfDir: profile ? ctx.profileDir : undefined });
  const sendTimesSab = new SharedArrayBuffer(8 * 1_000_000); // indexed by batch: 1,000 per second
  const sendTimes = new Float64Array(sendTimesSab);
  let subs;
  let pub;
  try {
    if (kind === 'collector') await publishJson(server.url, [{ channel: CHANNEL, data: { s: 0, pad: PAD } }]);
    subs = await startSubscribers({
      mode: server.mode, url: server.wsUrl, channel: CHANNEL, clients: subscribers, workers: 2,
      sendTimesSab, batchSize, snapshotMs: 5_000, keyField: 'seq', countField: kind === 'collector' ? 'offset' : 'seq',
      onErrorFrame: (f) => ctx.log(`  error frame: ${f}`),
    });
    // One connection: the collector stores its pipelined requests in the order sent (arrival-order.ts),
    // so seq order = offset order; `reordered` checks it.
    pub = new Publisher({ port: server.port, connections: 1 });
    await pub.connect();
    // Seqs start at batchSize so that seq / batchSize is the batch index (batch 0 stays unused).
    const warmCount = rate * warmS;
    const warm = buildRequests({ host: '127.0.0.1', port: server.port, channel: CHANNEL, seq: batchSize, count: warmCount, batchSize, pad: PAD });
    const measured = buildRequests({ host: '127.0.0.1', port: server.port, channel: CHANNEL, seq: batchSize + warmCount, count: rate * measureS, batchSize, pad: PAD });
    if (kind !== 'collector') subs.expect(batchSize); // the collector's count starts at the subscribed offset
    await pub.paced({ requests: warm, rate, batchSize, sendTimes, batchBase: 1 });
    await sleep(200);
    subs.record();
    await sleep(20);
    const cpu = cpuSplit(server);
    const t = await pub.paced({ requests: measured, rate, batchSize, sendTimes, batchBase: 1 + warm.length });
    const lastSeq = batchSize + warmCount + rate * measureS;
    // Wait for the tail: every subscriber at the channel's last stored offset (collector) or seq.
    const caughtUp = kind === 'collector' ? await lastOffset(server.url) : lastSeq;
    let r;
    const deadline = Date.now() + 10_000;
    do {
      await sleep(50);
      r = await subs.report();
    } while ((kind === 'collector' ? r.minOffset < caughtUp : r.minExpected < caughtUp) && Date.now() < deadline);
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
      reordered: r.reordered,
      subscribersClosed: subs.closedCount(),
      tailMissing: kind === 'collector' ? Math.max(0, caughtUp - r.minOffset) : Math.max(0, caughtUp - r.minExpected),
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

/** The channel's last stored offset, from GET /api/v1/status. */
async function lastOffset(url) {
  const st = await (await fetch(`${url}/api/v1/status`)).json();
  const c = st.channels.find((x) => x.name === CHANNEL);
  if (!c) throw new Error(`${CHANNEL} missing from /api/v1/status`);
  return c.lastOffset;
}

module.exports = { runLatency, PAD };
