'use strict';
/**
 * Recovery: 1,000 WebSocket clients follow one channel while a publisher keeps publishing
 * (10 messages every 20 ms, retried while the collector is down). The collector is stopped with
 * SIGTERM (it closes clients with 1001) and started again on the same port and SQLite file. Each
 * client reconnects with capped full-jitter backoff and resubscribes with since {epoch, offset} of
 * the last message it saw. Measured: time from the new process answering /readyz until every
 * client has caught up to the channel's last offset at that moment; gaps and duplicates counted
 * per client from offsets across the whole run.
 */
const { startServer, publishJson } = require('../lib/server-process');
const { startSubscribers, sleep } = require('../lib/subscribers');

const CHANNEL = 'bench/rec';

async function lastOffset(url) {
  const r = await fetch(`${url}/api/v1/channels`);
  const body = await r.json();
  return body.channels.find((c) => c.name === CHANNEL).lastOffset;
}

function startPublishing(getUrl) {
  let stop = false;
  let ok = 0;
  let failed = 0;
  const loop = (async () => {
    let n = 0;
    while (!stop) {
      const messages = Array.from({ length: 10 }, () => ({ channel: CHANNEL, data: { n: n++ } }));
      try {
        await publishJson(getUrl(), messages);
        ok += 10;
      } catch {
        failed++; // the collector is restarting: these were never acknowledged, so never stored
      }
      await sleep(20);
    }
  })();
  return {
    counts: () => ({ ok, failed }),
    async stop() {
      stop = true;
      await loop;
    },
  };
}

async function runRecovery(ctx, { clients = 1000, profile = false } = {}) {
  let server = await startServer({ kind: 'collector' });
  const { port, dataDir } = server;
  let subs;
  let pub;
  try {
    await publishJson(server.url, [{ channel: CHANNEL, data: { n: -1 } }]);
    subs = await startSubscribers({
      mode: 'collector', url: server.wsUrl, channel: CHANNEL, clients, workers: 2, keyField: 'offset',
      resume: true, backoffBaseMs: 100, backoffCapMs: 1_000, concurrency: 100, since: { last: 0 },
    });
    pub = startPublishing(() => server.url);
    await sleep(ctx.quick ? 1_000 : 2_000);
    const stopAt = Date.now();
    await server.stop('SIGTERM');
    const stoppedAt = Date.now();
    server = await startServer({ kind: 'collector', port, dataDir, cpuProfDir: profile ? ctx.profileDir : undefined });
    const readyAt = Date.now();
    const target = await lastOffset(server.url);
    let r;
    do {
      await sleep(10);
      r = await subs.report();
    } while (r.minOffset < target && Date.now() - readyAt < 30_000);
    const resumedAt = Date.now();
    const caughtUp = r.minOffset >= target;
    await sleep(500);
    await pub.stop();
    const final = await lastOffset(server.url);
    const drainDeadline = Date.now() + 10_000;
    do {
      await sleep(20);
      r = await subs.report();
    } while (r.minOffset < final && Date.now() < drainDeadline);
    return {
      clients,
      caughtUp,
      shutdownMs: stoppedAt - stopAt,
      resumeMsFromReady: resumedAt - readyAt,
      resumeMsFromStop: resumedAt - stopAt,
      messagesPublished: final,
      publishFailuresDuringRestart: pub.counts().failed,
      allAtFinalOffset: r.minOffset >= final,
      gaps: r.gaps,
      duplicates: r.dups,
      recoveredFalse: r.recoveredFalse,
    };
  } finally {
    if (pub) await pub.stop();
    if (subs) await subs.stop();
    await server.stop();
    server.cleanup();
    require('node:fs').rmSync(dataDir, { recursive: true, force: true });
  }
}

module.exports = { runRecovery };
