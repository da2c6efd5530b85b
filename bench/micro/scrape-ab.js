#!/usr/bin/env node
'use strict';
/**
 * A/B of /metrics under load (the scrape suite: 100 channels, 100 WebSocket subscribers fed at
 * 1,000 msg/s, one SSE client, sequential scrapes timed at the client), the two builds alternating:
 *   node bench/micro/scrape-ab.js --before collector/dist-before/main.js [--rounds 3]
 * Prints p50/p99/max per round and the medians. Build first (`npm run build:collector`).
 */
const { parseArgs } = require('node:util');
const { join } = require('node:path');
const { runScrape } = require('../suites/scrape');
const { median } = require('../lib/rounds');

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, before: { type: 'string' }, profile: { type: 'boolean', default: false } },
});
const ctx = { quick: false, log: (s) => process.stderr.write(`${s}\n`), profileDir: join(__dirname, '..', 'results', 'profiles') };
const builds = [['after', undefined], ...(values.before ? [['before', join(process.cwd(), values.before)]] : [])];

(async () => {
  const per = Object.fromEntries(builds.map(([b]) => [b, []]));
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const [name, main] of builds) {
      const r = await runScrape(ctx, { main, profile: values.profile && name === 'after' && round === 1 });
      ctx.log(
        `round ${round} ${name}: p50 ${r.renderMs.p50} p99 ${r.renderMs.p99} max ${r.renderMs.max} ms, server mean ${r.serverMeanMs} ms, ${r.bytes} bytes`,
      );
      per[name].push({ p50: r.renderMs.p50, p99: r.renderMs.p99, max: r.renderMs.max, serverMeanMs: r.serverMeanMs });
    }
  }
  const out = {};
  for (const [name] of builds) {
    out[name] = { rounds: per[name], p99Median: median(per[name].map((x) => x.p99)), p50Median: median(per[name].map((x) => x.p50)) };
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
