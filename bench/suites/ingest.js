'use strict';
/**
 * Ingest: messages/s accepted into the SQLite log through batch publish. Closed loop: 2 keep-alive
 * connections with 2 requests of 1,000 messages in flight each; a request counts only once its 200
 * arrives, and the collector answers only after the append transaction returned (hub.publish
 * awaits log.append; synchronous=NORMAL in WAL mode). No subscribers.
 *
 * Run twice, side by side: plain, then with a publish id on every message (`withIds`): what
 * idempotency costs (docs/protocol.md). Every request then carries ids never seen before, so each
 * message is looked up in the channel's id window and remembered, as a retrying publisher's are.
 */
const { startServer } = require('../lib/server-process');
const { buildRequests, Publisher } = require('../lib/load-publisher');
const { cpuSplit } = require('../lib/cpu-split');
const { PAD } = require('./latency');

async function runIngest(ctx, options = {}) {
  const plain = await runIngestOnce(ctx, { ...options, ids: false });
  plain.withIds = await runIngestOnce(ctx, { ...options, ids: true, profile: false });
  return plain;
}

/**
 * A request of `batch` messages whose ids are new each time it is sent: the 10-digit request
 * number fills a placeholder (fixed width, so Content-Length stays right).
 */
function idRequest({ port, channel, batch, pad }) {
  const padJson = pad ? `,"pad":${JSON.stringify(pad)}` : '';
  let body = '{"messages":[';
  for (let s = 0; s < batch; s++) body += `${s ? ',' : ''}{"channel":"${channel}","id":"@@@@@@@@@@-${s}","data":{"s":${s}${padJson}}}`;
  body += ']}';
  const head = `POST /api/v1/publish HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  const parts = (head + body).split('@@@@@@@@@@');
  let n = 0;
  return () => Buffer.from(parts.join(String(n++).padStart(10, '0')));
}

async function runIngestOnce(ctx, { batch = 1_000, connections = 2, inFlight = 2, profile = false, ids = false } = {}) {
  const server = await startServer({ kind: 'collector', cpuProfDir: profile ? ctx.profileDir : undefined });
  const pub = new Publisher({ port: server.port, connections });
  try {
    await pub.connect();
    const request = ids
      ? idRequest({ port: server.port, channel: 'bench/ingest', batch, pad: PAD })
      : buildRequests({ host: '127.0.0.1', port: server.port, channel: 'bench/ingest', seq: 0, count: batch, batchSize: batch, pad: PAD })[0];
    await pub.closedLoop({ request, durationMs: ctx.quick ? 500 : 1_000, inFlight }); // warm-up
    const cpu = cpuSplit(server);
    const r = await pub.closedLoop({ request, durationMs: ctx.quick ? 2_000 : 5_000, inFlight });
    const split = cpu();
    const stored = await (await fetch(`${server.url}/api/v1/channels`)).json();
    const ch = stored.channels.find((c) => c.name === 'bench/ingest');
    return {
      ids,
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
