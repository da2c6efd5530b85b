'use strict';
/**
 * Baseline: a bare `ws` broadcast server that does what the collector's delivery path does and
 * nothing else. It takes the same HTTP POST /api/v1/publish batches, gathers messages for one turn
 * of the event loop, builds one `messages` frame per channel (same bytes as the collector's
 * hub.ts messagesFrame: offset, ts, data) and sends that string to every client. No log, no
 * validation, no subscriptions: every client gets every channel.
 * Usage: PORT=n node bench/servers/ws-broadcast-server.js
 */
const http = require('node:http');
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

const server = http.createServer((req, res) => {
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
  ws.on('close', () => clients.delete(ws));
  ws.on('error', () => undefined);
});
server.keepAliveTimeout = 120_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
