'use strict';
/**
 * Memory per idle WebSocket connection: the server's resident set (from /proc) and V8 heap (the
 * collector's nodejs_heap_used_bytes) before and after opening N connections, each subscribed to
 * one channel (a Grafana panel's typical state) and then left idle. The bare ws server gives the
 * floor (what `ws` and the kernel-facing socket cost alone; no subscription there).
 */
const { startServer, publishJson } = require('../lib/server-process');
const { startSubscribers, sleep } = require('../lib/subscribers');

async function heapUsed(server) {
  if (server.kind !== 'collector') return null;
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = /^nodejs_heap_used_bytes (\S+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

async function settle(server, quick) {
  // Let lazy allocations and the GC settle before reading.
  await sleep(quick ? 500 : 1_500);
  return { rss: server.rss(), heap: await heapUsed(server) };
}

async function runConnections(ctx, { kind, connections }) {
  const server = await startServer({ kind });
  let warm;
  let subs;
  try {
    if (kind === 'collector') await publishJson(server.url, [{ channel: 'bench/idle', data: { v: 1 } }]);
    // Warm the code paths (upgrade, session, subscribe) with a few connections first.
    warm = await startSubscribers({ mode: server.mode, url: server.wsUrl, channel: 'bench/idle', clients: 20, workers: 1, keyField: 'seq' });
    const before = await settle(server, ctx.quick);
    subs = await startSubscribers({ mode: server.mode, url: server.wsUrl, channel: 'bench/idle', clients: connections, workers: 2, keyField: 'seq', concurrency: 200, readyTimeoutMs: 120_000 });
    const after = await settle(server, ctx.quick);
    return {
      system: kind,
      connections,
      rssBefore: before.rss,
      rssAfter: after.rss,
      rssPerConnection: Math.round((after.rss - before.rss) / connections),
      heapPerConnection: before.heap !== null && after.heap !== null ? Math.round((after.heap - before.heap) / connections) : null,
    };
  } finally {
    if (subs) await subs.stop();
    if (warm) await warm.stop();
    await server.stop();
    server.cleanup();
  }
}

module.exports = { runConnections };
