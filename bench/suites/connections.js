'use strict';
/**
 * Scale on one machine: N idle WebSocket clients (default 50,000) on one server, with heartbeats.
 * Figures: the server's resident set (from /proc) and V8 heap (the collector's
 * nodejs_heap_used_bytes) per connection, before and after opening the connections, each
 * subscribed to one channel (a Grafana panel's typical state) and then idle; and the event-loop
 * delay p99 over three heartbeat intervals (every client pinged three times), the cost of the
 * heartbeat sweep. The bare ws server gives the floor (no subscription, the ws README's ping sweep).
 *
 * Past 5,000 connections the clients use four loopback source addresses (127.0.0.2 to .5): one
 * source address has about 28,000 ephemeral ports per destination, and 50,000 need two or more. Every process here is bound by
 * the open-file hard limit (RLIMIT_NOFILE), which an unprivileged container cannot raise: when it
 * is below what N needs, the suite measures the largest count that fits and says so (`capped`).
 */
const { execFileSync } = require('node:child_process');
const { startServer, publishJson, benchCollectorConfig } = require('../lib/server-process');
const { startSubscribers, sleep } = require('../lib/subscribers');

/** Descriptors the server and this process keep for themselves (listeners, files, pipes, workers). */
const FD_MARGIN = 1_000;

function hardFdLimit() {
  return Number(execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()) || 1_024;
}

async function scrape(server) {
  return (await fetch(`${server.url}/metrics`)).text();
}

const pick = (text, name) => {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
};

/** Event-loop delay p99 since the previous call, ms (the call itself resets the window). */
async function loopP99(server) {
  if (server.kind === 'collector') {
    // nodejs_eventloop_lag_p99_seconds covers the time since the previous scrape (process-metrics.ts).
    const v = pick(await scrape(server), 'nodejs_eventloop_lag_p99_seconds');
    return v === null ? null : v * 1000;
  }
  return (await (await fetch(`${server.url}/eventloop`)).json()).p99Ms;
}

async function settle(server, quick) {
  // Let lazy allocations and the GC settle before reading.
  await sleep(quick ? 500 : 1_500);
  const heap = server.kind === 'collector' ? pick(await scrape(server), 'nodejs_heap_used_bytes') : null;
  return { rss: server.rss(), heap };
}

async function runConnections(ctx, { kind, connections }) {
  const limit = hardFdLimit();
  const requested = connections;
  connections = Math.min(requested, limit - FD_MARGIN);
  const heartbeatMs = ctx.quick ? 1_000 : 5_000;
  const config = benchCollectorConfig();
  config.ws = { ...config.ws, maxConnections: connections + 100, heartbeatIntervalMs: heartbeatMs, heartbeatTimeoutMs: Math.round(heartbeatMs * 0.8) };
  const server = await startServer({ kind, config, env: kind === 'ws' ? { BENCH_WS_HEARTBEAT_MS: String(heartbeatMs) } : {} });
  let warm;
  let subs;
  try {
    if (kind === 'collector') await publishJson(server.url, [{ channel: 'bench/idle', data: { v: 1 } }]);
    // Warm the code paths (upgrade, session, subscribe) with a few connections first.
    warm = await startSubscribers({ mode: server.mode, url: server.wsUrl, channel: 'bench/idle', clients: 20, workers: 1, keyField: 'seq' });
    const before = await settle(server, ctx.quick);
    const many = connections > 5_000;
    const localAddresses = many ? ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'] : undefined;
    const t0 = Date.now();
    subs = await startSubscribers({
      mode: server.mode, url: server.wsUrl, channel: 'bench/idle', clients: connections, workers: many ? 4 : 2,
      keyField: 'seq', concurrency: 200, readyTimeoutMs: 300_000, localAddresses,
    });
    const connectMs = Date.now() - t0;
    const after = await settle(server, ctx.quick);
    // Heartbeats: three intervals, every client pinged (and answering) three times.
    await loopP99(server); // starts the window
    const closedBefore = subs.closedCount();
    await sleep(3 * heartbeatMs + 200);
    const heartbeatLoopP99Ms = await loopP99(server);
    const rep = await subs.report();
    return {
      system: kind,
      requested,
      connections,
      capped: connections < requested ? `open-file hard limit ${limit} (cannot be raised here)` : null,
      connectMs,
      rssBefore: before.rss,
      rssAfter: after.rss,
      rssPerConnection: Math.round((after.rss - before.rss) / connections),
      heapPerConnection: before.heap !== null && after.heap !== null ? Math.round((after.heap - before.heap) / connections) : null,
      heartbeatMs,
      heartbeatLoopP99Ms,
      openAfterHeartbeats: rep.open,
      closedDuringHeartbeats: subs.closedCount() - closedBefore,
    };
  } finally {
    if (subs) await subs.stop();
    if (warm) await warm.stop();
    await server.stop();
    server.cleanup();
  }
}

module.exports = { runConnections };
