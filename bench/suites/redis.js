'use strict';
/**
 * Issue 8 hook: deliveries per second with one and with three collector instances sharing a Redis
 * store (store.type: redis). Runs only when the collector accepts `store.type: redis` and
 * redis-server is installed; otherwise returns why it was not measured. Rate steps of 2,000 up to
 * 100,000 msg/s (until it falls behind) published to the first instance (batches of 100), 100
 * subscribers over all of them.
 */
const { spawn, execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { startServer, freePort, benchCollectorConfig, publishJson, ROOT } = require('../lib/server-process');
const { startSubscribers, sleep } = require('../lib/subscribers');
const { buildRequests, Publisher } = require('../lib/load-publisher');
const { PAD } = require('./latency');

const REDIS_LOG = join(ROOT, 'collector/dist/log/redis-log.js');

function redisServerPath() {
  try {
    return execFileSync('bash', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

async function startRedis() {
  const port = await freePort();
  const proc = spawn(redisServerPath(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping'], { stdio: 'ignore' });
      break;
    } catch {
      await sleep(50);
    }
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => new Promise((r) => { proc.once('exit', r); proc.kill('SIGTERM'); }) };
}

/**
 * Publishes to instance 0 in rate steps; 100 subscribers spread over the instances count
 * deliveries. A step passes when every subscriber got every message within the step time / 0.9.
 */
async function deliveries(ctx, redisUrl, instances) {
  const servers = [];
  const pools = [];
  const config = benchCollectorConfig({ store: { type: 'redis', redis: { urls: [redisUrl], keyPrefix: `sgb${instances}:` } } });
  // Up until the store falls behind (the top step is far above what two cores deliver).
  const steps = ctx.quick ? [2_000] : [2_000, 5_000, 10_000, 20_000, 40_000, 60_000, 80_000, 100_000];
  const seconds = ctx.quick ? 1 : 3;
  const results = [];
  let pub;
  try {
    for (let i = 0; i < instances; i++) servers.push(await startServer({ kind: 'collector', config }));
    await publishJson(servers[0].url, [{ channel: 'bench/redis', data: { s: 0, pad: PAD } }]);
    await sleep(300);
    const per = Math.ceil(100 / instances);
    for (const s of servers) pools.push(await startSubscribers({ mode: 'collector', url: s.wsUrl, channel: 'bench/redis', clients: per, workers: 1, keyField: 'seq' }));
    pub = new Publisher({ port: servers[0].port, connections: 1 });
    await pub.connect();
    let seq = 100;
    for (const rate of steps) {
      const count = rate * seconds;
      const requests = buildRequests({ host: '127.0.0.1', port: servers[0].port, channel: 'bench/redis', seq, count, batchSize: 100, pad: PAD });
      for (const p of pools) p.expect(seq);
      const before = (await Promise.all(pools.map((p) => p.report()))).reduce((n, r) => n + r.received, 0);
      const t0 = Date.now();
      await pub.paced({ requests, rate, batchSize: 100, sendTimes: new Float64Array(seq / 100 + requests.length + 2), batchBase: seq / 100 });
      const end = seq + count;
      let reports;
      do {
        await sleep(20);
        reports = await Promise.all(pools.map((p) => p.report()));
      } while (reports.some((r) => r.minExpected < end) && Date.now() - t0 < (seconds * 1000) / 0.9 + 3_000);
      const tookMs = Date.now() - t0;
      const received = reports.reduce((n, r) => n + r.received, 0) - before;
      const complete = reports.every((r) => r.minExpected >= end && r.gaps === 0);
      const pass = complete && tookMs <= (seconds * 1000) / 0.9;
      results.push({ rate, pass, complete, tookMs, deliveredPerSecond: Math.round((received / tookMs) * 1000) });
      ctx.log(`    redis, ${instances} instance(s), ${rate} msg/s x ${per * instances}: ${pass ? 'ok' : complete ? 'fell behind' : 'LOSS'} in ${tookMs} ms`);
      seq = end;
      if (!pass) break;
    }
    const best = results.filter((r) => r.pass).pop();
    return {
      instances, subscribers: per * instances, publishedPerSecond: best ? best.rate : 0, deliveredPerSecond: best ? best.deliveredPerSecond : 0, complete: Boolean(best),
      ceilingHit: results.length > 0 && !results[results.length - 1].pass, steps: results,
    };
  } finally {
    if (pub) pub.close();
    for (const p of pools) await p.stop();
    for (const s of servers) {
      await s.stop();
      s.cleanup();
    }
  }
}

async function runRedis(ctx) {
  if (!existsSync(REDIS_LOG)) return { notMeasured: 'no Redis event log in the collector build (collector/src/log/redis-log.ts)' };
  if (!redisServerPath()) return { notMeasured: 'redis-server is not installed (apt-get install -y redis-server)' };
  const redis = await startRedis();
  try {
    return { runs: [await deliveries(ctx, redis.url, 1), await deliveries(ctx, redis.url, 3)] };
  } finally {
    await redis.stop();
  }
}

module.exports = { runRedis };
