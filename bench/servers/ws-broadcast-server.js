'use strict';
/**
 * Baseline: a bare `ws` broadcast server, the floor the collector's delivery is compared with. It
 * is NOT the collector's delivery path minus extras: it has no log (nothing is stored before the
 * answer), no validation, no subscriptions or patterns (every client gets every channel), no
 * per-client send queue or slow-consumer limit, no replay, no auth, no metrics. What it shares with
 * the collector is the wire: the same HTTP POST /api/v1/publish batches, messages gathered for one
 * turn of the event loop, one `messages` frame per channel with the same bytes (offset, ts, data),
 * sent to every client. `ws-buffer` (BENCH_WS_PREENCODE=1) encodes that frame once, as the
 * collector does: it is the fair baseline for CPU per delivery.
 * Heartbeats (BENCH_WS_HEARTBEAT_MS): one sweep over all clients every interval, ws.ping() and
 * terminate on a missing pong, the pattern from the ws README; GET /eventloop answers the
 * event-loop delay percentiles since the previous GET (monitorEventLoopDelay, 10 ms resolution,
 * as the collector's nodejs_eventloop_lag_p99_seconds).
 * Usage: PORT=n node bench/servers/ws-broadcast-server.js
 */
const http = require('node:http');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { WebSocketServer } = require('ws');

const port = Number(process.env.PORT);
// BENCH_WS_PREENCODE=1: encode the frame to a Buffer once and send that to every client, instead of
// the string (which ws writes with writev, encoding it to UTF-8 again for every client).
const preencode = process.env.BENCH_WS_PREENCODE === '1';
const clients = new Set();
const pending = new Map(); // channel -> item JSON strings
const offsets = new Map();
let scheduled = false;

function flush() {
  scheduled = false;
  for (const [channel, items] of pending) {
    const text = `{"type":"messages","channel":"${channel}","epoch":"bench","messages":[${items.join(',')}]}`;
    const frame = preencode ? Buffer.from(text) : text;
    for (const ws of clients) ws.send(frame, { binary: false });
  }
  pending.clear();
}

const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/eventloop') {
    const body = { p50Ms: loop.percentile(50) / 1e6, p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6, count: loop.count };
    loop.reset();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    return;
  }
  if (req.method !== 'POST' || req.url !== '/api/v1/publish') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    const ts = Date.now();
    for (const m of body.messages) {
      const offset = (offsets.get(m.channel) || 0) + 1;
      offsets.set(m.channel, offset);
      let list = pending.get(m.channel);
      if (!list) pending.set(m.channel, (list = []));
      list.push(`{"offset":${offset},"ts":${ts},"data":${JSON.stringify(m.data)}}`);
    }
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(`{"accepted":${body.messages.length}}`);
  });
});

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  clients.add(ws);
  ws.alive = true;
  ws.on('pong', () => (ws.alive = true));
  ws.on('close', () => clients.delete(ws));
  ws.on('error', () => undefined);
});
const heartbeatMs = Number(process.env.BENCH_WS_HEARTBEAT_MS || 0);
if (heartbeatMs > 0) {
  setInterval(() => {
    for (const ws of clients) {
      if (!ws.alive) {
        ws.terminate();
        continue;
      }
      ws.alive = false;
      ws.ping();
    }
  }, heartbeatMs);
}
server.keepAliveTimeout = 120_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
