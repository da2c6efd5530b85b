'use strict';
/**
 * Baseline: Socket.IO 4 broadcasting the same HTTP POST /api/v1/publish batches, gathered per turn
 * of the event loop like the collector, with one io.emit('messages', …) per channel. Socket.IO
 * encodes a broadcast packet once and writes it to every client (socket.io's adapter broadcast).
 * WebSocket transport only, no compression.
 * Usage: PORT=n node bench/servers/socketio-server.js
 */
const http = require('node:http');
const { Server } = require('socket.io');

const port = Number(process.env.PORT);
const pending = new Map();
const offsets = new Map();
let scheduled = false;

function flush() {
  scheduled = false;
  for (const [channel, messages] of pending) {
    io.emit('messages', { type: 'messages', channel, epoch: 'bench', messages });
  }
  pending.clear();
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/v1/publish') {
    return; // socket.io answers its own paths; anything else falls through to its 404
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
      list.push({ offset, ts, data: m.data });
    }
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(`{"accepted":${body.messages.length}}`);
  });
});

const io = new Server(server, { transports: ['websocket'], perMessageDeflate: false, serveClient: false, pingInterval: 25_000 });
server.keepAliveTimeout = 120_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
