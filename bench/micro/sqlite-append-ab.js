#!/usr/bin/env node
'use strict';
/**
 * A/B micro-benchmark of the SQLite append on the event loop (collector/dist, build first):
 *   A "autocheckpoint": the old behaviour, SQLite's wal_autocheckpoint (1,000 pages) on the publish
 *     connection, so the commit that crosses it runs the checkpoint inside the append;
 *   B "worker": the collector's behaviour, checkpoints in a worker thread (wal-checkpointer.ts).
 * Each round appends batches at a fixed rate (default 1,000 batches/s of 10 messages: the latency
 * benchmark's 10,000 msg/s) for a few seconds and records how long each append() held the event
 * loop, plus the largest WAL file seen. Rounds alternate A and B; medians over the rounds.
 *   node bench/micro/sqlite-append-ab.js [--seconds 6] [--rounds 3] [--rate 1000] [--batch 10]
 * Timing only: the machine's other load shows up in both; compare A with B within one run.
 */
const { mkdtempSync, rmSync, statSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { parseArgs } = require('node:util');
const H = require('../lib/histogram');
const { median } = require('../lib/rounds');
const { SqliteLog } = require('../../collector/dist/log/sqlite-log');

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '10' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const RATE = Number(values.rate);
const BATCH = Number(values.batch);
const DATA = JSON.stringify({ s: 0, pad: 'x'.repeat(64) });

async function round(mode) {
  const dir = mkdtempSync(join(tmpdir(), 'sg-ab-'));
  const path = join(dir, 'ab.db');
  const log = new SqliteLog({ path });
  await log.open();
  if (mode === 'autocheckpoint') {
    // The old behaviour: no worker, SQLite checkpoints inside the commit that crosses 1,000 pages.
    await log.checkpointer.stop();
    log.checkpointer = undefined;
    log.db.pragma('wal_autocheckpoint = 1000');
  }
  const h = H.createHistogram(H.FINE);
  let maxWal = 0;
  const total = RATE * SECONDS;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const items = [];
    for (let j = 0; j < BATCH; j++) items.push({ channel: 'ab/lat', ts: Date.now(), data: DATA });
    const a = performance.now();
    await log.append(items);
    H.record(h, performance.now() - a, 1);
    if (i % 100 === 0) {
      try {
        maxWal = Math.max(maxWal, statSync(`${path}-wal`).size);
      } catch {
        // no WAL file at this moment
      }
    }
  }
  const ck = log.walStats();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
  return { mode, ...H.summary(h), maxWalMB: Math.round(maxWal / 1e5) / 10, checkpointer: ck };
}

async function main() {
  const all = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of ['autocheckpoint', 'worker']) {
      const x = await round(mode);
      all.push(x);
      process.stdout.write(`round ${r + 1} ${mode}: append p50 ${x.p50} ms, p99 ${x.p99} ms, max ${x.max.toFixed(2)} ms, WAL max ${x.maxWalMB} MB${x.checkpointer ? `, worker ${JSON.stringify(x.checkpointer)}` : ''}\n`);
    }
  }
  for (const mode of ['autocheckpoint', 'worker']) {
    const m = all.filter((x) => x.mode === mode);
    process.stdout.write(`median ${mode}: p50 ${median(m.map((x) => x.p50))} ms, p99 ${median(m.map((x) => x.p99))} ms, max ${median(m.map((x) => x.max)).toFixed(2)} ms, WAL max ${median(m.map((x) => x.maxWalMB))} MB\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
