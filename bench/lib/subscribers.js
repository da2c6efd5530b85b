'use strict';
/**
 * Main-thread side of the subscriber workers: spreads `clients` over `workers` threads, waits until
 * they are connected (and subscribed), and merges their reports.
 */
const { Worker } = require('node:worker_threads');
const { join } = require('node:path');
const H = require('./histogram');

async function startSubscribers(o) {
  const workers = [];
  const progress = [];
  const per = Math.ceil(o.clients / o.workers);
  for (let w = 0; w < o.workers; w++) {
    const clients = Math.min(per, o.clients - w * per);
    if (clients <= 0) break;
    const progressSab = new SharedArrayBuffer(12);
    progress.push(new Int32Array(progressSab));
    const worker = new Worker(join(__dirname, 'subscriber-worker.js'), {
      workerData: { ...o, clients, progressSab, workers: undefined, onErrorFrame: undefined },
      resourceLimits: { maxOldGenerationSizeMb: 2048 },
    });
    worker.on('message', (m) => {
      if (m.type === 'error-frame' && o.onErrorFrame) o.onErrorFrame(m.frame);
    });
    worker.on('error', (err) => process.stderr.write(`subscriber worker failed: ${err.stack}\n`));
    workers.push(worker);
  }
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', function on(m) {
    if (m.type === 'connected') r();
    else w.once('message', on);
  }))));
  // Subscribed (collector) or namespace-connected (Socket.IO): wait for all of them.
  const want = o.clients;
  const deadline = Date.now() + (o.readyTimeoutMs || 60_000);
  while (progress.reduce((s, p) => s + Atomics.load(p, 1), 0) < want) {
    if (Date.now() > deadline) {
      throw new Error(`only ${progress.reduce((s, p) => s + Atomics.load(p, 1), 0)} of ${want} subscribers ready`);
    }
    await sleep(20);
  }
  let reqId = 0;
  const ask = (w) =>
    new Promise((r) => {
      const id = ++reqId;
      const on = (m) => {
        if (m.type === 'report' && m.id === id) {
          w.off('message', on);
          r(m.report);
        }
      };
      w.on('message', on);
      w.postMessage({ type: 'report', id });
    });
  return {
    ready: () => progress.reduce((s, p) => s + Atomics.load(p, 1), 0),
    closedCount: () => progress.reduce((s, p) => s + Atomics.load(p, 2), 0),
    /** Starts latency recording afresh (after a warm-up). */
    record() {
      for (const w of workers) w.postMessage({ type: 'record' });
    },
    expect(from) {
      for (const w of workers) w.postMessage({ type: 'expect', from });
    },
    /** Merged report of every worker. */
    async report() {
      const rs = await Promise.all(workers.map(ask));
      const lat = H.createHistogram(H.FINE);
      const out = { received: 0, gaps: 0, dups: 0, open: 0, resumed: 0, recoveredFalse: 0, reordered: 0, minExpected: Infinity, minOffset: Infinity, lastResumedAt: 0 };
      for (const r of rs) {
        H.merge(lat, r.lat);
        for (const k of ['received', 'gaps', 'dups', 'open', 'resumed', 'recoveredFalse', 'reordered']) out[k] += r[k];
        out.minExpected = Math.min(out.minExpected, r.minExpected);
        out.minOffset = Math.min(out.minOffset, r.minOffset);
        out.lastResumedAt = Math.max(out.lastResumedAt, r.lastResumedAt);
      }
      return { ...out, latency: H.summary(lat), snapshot: H.snapshotSummary(lat, o.snapshotMs || 5_000) };
    },
    async stop() {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise((r) => {
              const t = setTimeout(() => w.terminate().then(r), 2_000);
              w.on('message', (m) => {
                if (m.type === 'closed') {
                  clearTimeout(t);
                  w.terminate().then(r);
                }
              });
              w.postMessage({ type: 'close' });
            }),
        ),
      );
    },
  };
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

module.exports = { startSubscribers, sleep };
