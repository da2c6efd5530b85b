'use strict';
/**
 * Ingest: messages/s accepted into the SQLite log through batch publish. Closed loop: 2 keep-alive
 * connections with 2 requests of 1,000 messages in flight each; a request counts only once its 200
 * arrives, and the collector answers only after the append transaction returned (hub.publish
 * awaits log.append; synchronous=NORMAL in WAL mode). No subscribers.
 */
const { startServer } = require('../lib/server-process');
const { buildRequests, Publisher } = require('../lib/load-publisher');
const { cpuSplit } = require('../lib/cpu-split');
const { PAD } = require('./latency');

async function runIngest(ctx, { batch = 1_000, connections = 2, inFlight = 2, profile = false } = {}) {
  const server = await startServer({ kind: 'collector', cpuProfDir: profile ? ctx.profileDir : undefined });
  const pub = new Publisher({ port: server.port, connections });
  try {
    await pub.connect();
    const [request] = buildRequests({ host: '127.0.0.1', port: server.port, channel: 'bench/ingest', seq: 0, count: batch, batchSize: batch, pad: PAD });
    await pub.closedLoop({ request, durationMs: ctx.quick ? 500 : 1_000, inFlight }); // warm-up
    const cpu = cpuSplit(server);
    const r = await pub.closedLoop({ request, durationMs: ctx.quick ? 2_000 : 5_000, inFlight });
    const split = cpu();
    const stored = await (await fetch(`${server.url}/api/v1/channels`)).json();
    const ch = stored.channels.find((c) => c.name === 'bench/ingest');
    return {
      batch,
      connections,
      inFlight,
      seconds: Math.round(r.elapsedMs) / 1000,
      messagesPerSecond: Math.round((r.requestsOk * batch) / (r.elapsedMs / 1000)),
      // What one core of the collector stores per second, whatever else shares the machine.
      messagesPerCpuSecond: Math.round((r.requestsOk * batch) / split.serverCpuSeconds),
      failedRequests: r.failed,
      lastOffset: ch ? ch.lastOffset : null,
      cpu: split,
    };
  } finally {
    pub.close();
    await server.stop();
    server.cleanup();
  }
}

module.exports = { runIngest };
