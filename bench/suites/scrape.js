'use strict';
/**
 * Scrape: GET /metrics render time with 100 channels and everything running: 100 WebSocket
 * subscribers on one channel fed at 1,000 messages/s, plus one SSE client, while /metrics is
 * fetched sequentially. Time is measured at the client (request sent to body read) on a
 * keep-alive connection, so it is an upper bound on the render time.
 */
const http = require('node:http');
const { startServer, publishJson } = require('../lib/server-process');
const { startSubscribers, sleep } = require('../lib/subscribers');
const { buildRequests, Publisher } = require('../lib/load-publisher');
const H = require('../lib/histogram');
const { PAD } = require('./latency');

function timedGet(agent, url) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    http
      .get(url, { agent }, (res) => {
        let bytes = 0;
        res.on('data', (d) => (bytes += d.length));
        res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes, status: res.statusCode }));
      })
      .on('error', reject);
  });
}

async function runScrape(ctx, { channels = 100, scrapes, main, profile = false } = {}) {
  scrapes = scrapes || (ctx.quick ? 50 : 300);
  // `main`: another collector build, for an A/B run (bench/micro/scrape-ab.js).
  const server = await startServer({ kind: 'collector', main, cpuProfDir: profile ? ctx.profileDir : undefined });
  let subs;
  let pub;
  let sse;
  try {
    const names = Array.from({ length: channels }, (_, i) => `bench/c${String(i).padStart(3, '0')}`);
    names[0] = 'bench/lat';
    await publishJson(server.url, names.map((channel) => ({ channel, data: { s: 0, pad: PAD } })));
    subs = await startSubscribers({ mode: 'collector', url: server.wsUrl, channel: 'bench/lat', clients: 100, workers: 1, keyField: 'seq' });
    sse = http.get(`${server.url}/api/v1/stream?channels=bench/**`, (res) => res.resume());
    sse.on('error', () => undefined);
    pub = new Publisher({ port: server.port, connections: 1 });
    await pub.connect();
    const rate = 1_000;
    const seconds = ctx.quick ? 2 : 10;
    const requests = buildRequests({ host: '127.0.0.1', port: server.port, channel: 'bench/lat', seq: 1, count: rate * seconds, batchSize: 1, pad: PAD });
    const sendTimes = new Float64Array(requests.length + 2);
    const publishing = pub.paced({ requests, rate, batchSize: 1, sendTimes, batchBase: 1 });
    await sleep(300);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const h = H.createHistogram(H.FINE);
    let bytes = 0;
    let done = 0;
    const t0 = Date.now();
    await timedGet(agent, `${server.url}/metrics`); // first render compiles the code paths
    while (done < scrapes && Date.now() - t0 < (seconds - 0.5) * 1000) {
      const r = await timedGet(agent, `${server.url}/metrics`);
      if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
      H.record(h, r.ms, 1);
      bytes = r.bytes;
      done++;
      await sleep(5);
    }
    agent.destroy();
    await publishing;
    // The collector's own view: time from request received to response sent, averaged.
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const pick = (suffix) => {
      const m = new RegExp(`^streamgauge_http_request_duration_seconds_${suffix}\\{[^}]*route="/metrics"[^}]*status_code="200"[^}]*\\} (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : null;
    };
    const sum = pick('sum');
    const count = pick('count');
    return { channels, scrapes: done, bytes, renderMs: H.summary(h), serverMeanMs: sum !== null && count ? Math.round((sum / count) * 1e5) / 100 : null };
  } finally {
    if (sse) sse.destroy();
    if (pub) pub.close();
    if (subs) await subs.stop();
    await server.stop();
    server.cleanup();
  }
}

module.exports = { runScrape };
