'use strict';
/**
 * A worker thread holding many lean WebSocket subscribers. Frames stay Buffers: the worker finds
 * the first and last sequence number (`"s":`) or offset with indexOf and never parses JSON for a
 * message frame, so the subscriber side costs as little CPU as possible (it shares the two cores
 * with the server under test). Latency = arrival time - send time stamped by the publisher in a
 * SharedArrayBuffer indexed by batch (both threads read the same clock:
 * performance.timeOrigin + performance.now()). The 5-second snapshot baseline is derived from the
 * same histogram afterwards (histogram.js snapshotSummary).
 *
 * Counting (received, gaps, duplicates): by `countField` (default: keyField). The latency suite
 * counts the collector by stored offset (what the protocol promises: no gap, no duplicate per
 * channel) and uses the publisher's sequence number only to find send times; it also counts
 * "reordered" frames, whose sequence numbers do not continue the stored order (a publish stored
 * out of the order it was sent in).
 *
 * Modes: `collector` (subscribe frame, then messages frames), `ws` (bare broadcast server: every
 * frame is a messages frame), `socketio` (a minimal Engine.IO v4 / Socket.IO v5 client over ws,
 * so that Socket.IO is measured with the same client cost: https://socket.io/docs/v4/socket-io-protocol/).
 */
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const WebSocket = require('ws');
const H = require('./histogram');
const { backoffDelay } = require('@streamgauge/client');

const cfg = workerData;
const sendTimes = cfg.sendTimesSab ? new Float64Array(cfg.sendTimesSab) : null;
const progress = new Int32Array(cfg.progressSab); // [framesReceived, clientsReady, clientsClosed]
const batchSize = cfg.batchSize || 1;
const SEQ = Buffer.from('"s":');
const OFFSET = Buffer.from('"offset":');
const now = () => performance.timeOrigin + performance.now();
const LAT_KEY = cfg.keyField === 'offset' ? OFFSET : SEQ;
const COUNT_KEY = (cfg.countField || cfg.keyField) === 'offset' ? OFFSET : SEQ;
const CHECK_ORDER = LAT_KEY !== COUNT_KEY;

const lat = H.createHistogram(H.FINE);
let recording = false;

const n = cfg.clients;
const expected = new Float64Array(n).fill(-1); // next seq/offset each client expects (-1: unknown)
const received = new Float64Array(n);
const gaps = new Float64Array(n);
const dups = new Float64Array(n);
const reconnects = new Uint32Array(n);
const attempts = new Uint8Array(n); // failed reconnects in a row, for the backoff
const resumedAt = new Float64Array(n); // time of the first messages frame after the latest reconnect
const recoveredFalse = new Uint32Array(n);
const nextSeq = new Float64Array(n).fill(-1); // with CHECK_ORDER: the seq that continues the order
const reordered = new Float64Array(n); // frames whose seqs break the order (CHECK_ORDER)
const sockets = new Array(n);
let epoch = null;
let stopping = false;

function readInt(buf, at) {
  let v = 0;
  for (let i = at; i < buf.length; i++) {
    const c = buf[i];
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** The first and last value of `key` in the frame (messages are in offset order). */
function firstLast(buf, start, key) {
  const a = buf.indexOf(key, start);
  if (a < 0) return null;
  const b = buf.lastIndexOf(key);
  return [readInt(buf, a + key.length), readInt(buf, b + key.length)];
}

function onMessagesFrame(i, buf, start) {
  const counted = firstLast(buf, start, COUNT_KEY);
  if (!counted) return;
  const [cFirst, cLast] = counted;
  const latRange = CHECK_ORDER ? firstLast(buf, start, LAT_KEY) : counted;
  if (!latRange) return;
  const [first, last] = latRange;
  const t = now();
  Atomics.add(progress, 0, 1);
  if (resumedAt[i] === 0 && reconnects[i] > 0) resumedAt[i] = t;
  const exp = expected[i];
  if (exp >= 0) {
    if (cFirst > exp) gaps[i] += cFirst - exp;
    else if (cFirst < exp) dups[i] += Math.min(cLast, exp - 1) - cFirst + 1;
  }
  if (cLast + 1 > exp) {
    received[i] += cLast + 1 - Math.max(cFirst, exp < 0 ? cFirst : exp);
    expected[i] = cLast + 1;
  }
  if (CHECK_ORDER) {
    // Consecutive offsets carry consecutive seqs when publishes are stored in the order sent.
    if ((nextSeq[i] >= 0 && first !== nextSeq[i]) || last - first !== cLast - cFirst) reordered[i]++;
    nextSeq[i] = last + 1;
  }
  if (!recording || !sendTimes) return;
  // Messages of one publish batch share a send time: one histogram entry per batch, weighted.
  const fb = Math.floor(first / batchSize);
  const lb = Math.floor(last / batchSize);
  for (let bi = fb; bi <= lb; bi++) {
    const lo = Math.max(first, bi * batchSize);
    const hi = Math.min(last, bi * batchSize + batchSize - 1);
    const sent = sendTimes[bi];
    if (sent === 0) continue;
    H.record(lat, t - sent, hi - lo + 1);
  }
}

function onCollectorFrame(i, ws, buf) {
  // Every server frame starts with {"type":"<type>" (hub.ts messagesFrame and JSON.stringify of ServerFrame).
  const c = buf[9];
  if (c === 109 /* m */) {
    onMessagesFrame(i, buf, 0);
  } else if (c === 119 /* w */) {
    const f = { op: 'subscribe', id: 1, channel: cfg.channel };
    if (cfg.resume && expected[i] > 0 && epoch) f.since = { epoch, offset: expected[i] - 1 };
    else if (cfg.since) f.since = cfg.since;
    ws.send(JSON.stringify(f));
  } else if (c === 115 /* s */) {
    const f = JSON.parse(buf.toString());
    if (f.type === 'subscribed') {
      if (!epoch) epoch = f.epoch;
      if (!f.recovered && reconnects[i] > 0) recoveredFalse[i]++;
      if (expected[i] < 0 && COUNT_KEY === OFFSET) expected[i] = f.offset + 1;
      if (reconnects[i] === 0) Atomics.add(progress, 1, 1);
    }
  } else if (c === 101 /* e */) {
    parentPort.postMessage({ type: 'error-frame', frame: buf.toString() });
  }
}

function onSocketIoFrame(i, ws, buf) {
  const c0 = buf[0];
  if (c0 === 52 /* 4 */ && buf[1] === 50 /* 2 */) {
    onMessagesFrame(i, buf, 2);
  } else if (c0 === 50 /* 2: ping */) {
    ws.send('3');
  } else if (c0 === 48 /* 0: open */) {
    ws.send('40');
  } else if (c0 === 52 && buf[1] === 48 /* 40: connected to the namespace */) {
    Atomics.add(progress, 1, 1);
  }
}

function connect(i) {
  const url = cfg.mode === 'socketio' ? `${cfg.url}/socket.io/?EIO=4&transport=websocket` : cfg.url;
  // Several loopback source addresses (127.0.0.x) when one address would run out of ephemeral
  // ports (about 28,000 per source address and destination).
  const localAddress = cfg.localAddresses ? cfg.localAddresses[i % cfg.localAddresses.length] : undefined;
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, localAddress });
  sockets[i] = ws;
  return new Promise((resolve) => {
    let opened = false;
    ws.on('open', () => {
      opened = true;
      attempts[i] = 0;
      if (cfg.mode === 'ws') Atomics.add(progress, 1, 1);
      resolve(true);
    });
    ws.on('message', (buf) => {
      if (cfg.mode === 'collector') onCollectorFrame(i, ws, buf);
      else if (cfg.mode === 'socketio') onSocketIoFrame(i, ws, buf);
      else onMessagesFrame(i, buf, 0);
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (!opened) resolve(false);
      if (stopping) return;
      Atomics.add(progress, 2, 1);
      // First connections are retried by connectAll; from then on, the close handler reconnects.
      if (cfg.resume && (opened || reconnects[i] > 0)) {
        if (!opened && attempts[i] < 30) attempts[i]++;
        scheduleReconnect(i, attempts[i]);
      }
    });
  });
}

// Reconnect with the repository's one capped full-jitter backoff (@streamgauge/client).
function scheduleReconnect(i, attempt) {
  const delay = backoffDelay(attempt, cfg.backoffBaseMs || 50, cfg.backoffCapMs || 1000);
  setTimeout(async () => {
    if (stopping) return;
    reconnects[i]++;
    resumedAt[i] = 0;
    // A failed attempt closes too, and its close handler schedules the next try.
    await connect(i);
  }, delay);
}

async function connectAll() {
  let next = 0;
  const lanes = Math.min(cfg.concurrency || 50, n);
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < n) {
        const i = next++;
        let ok = await connect(i);
        for (let tries = 0; !ok && tries < 20 && !stopping; tries++) {
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
          ok = await connect(i);
        }
      }
    }),
  );
}

function report() {
  let min = Infinity;
  let total = 0;
  let g = 0;
  let d = 0;
  let open = 0;
  let lastResumed = 0;
  let resumed = 0;
  let rf = 0;
  let ro = 0;
  let minOffset = Infinity;
  for (let i = 0; i < n; i++) {
    total += received[i];
    g += gaps[i];
    d += dups[i];
    if (expected[i] < min) min = expected[i];
    if (expected[i] - 1 < minOffset) minOffset = expected[i] - 1;
    if (sockets[i] && sockets[i].readyState === WebSocket.OPEN) open++;
    if (resumedAt[i] > 0) {
      resumed++;
      if (resumedAt[i] > lastResumed) lastResumed = resumedAt[i];
    }
    rf += recoveredFalse[i];
    ro += reordered[i];
  }
  return {
    received: total,
    minExpected: min,
    minOffset,
    gaps: g,
    dups: d,
    open,
    resumed,
    lastResumedAt: lastResumed,
    recoveredFalse: rf,
    reordered: ro,
    lat: { counts: lat.counts, max: lat.max, n: lat.n },
  };
}

parentPort.on('message', (m) => {
  if (m.type === 'record') {
    H.reset(lat);
    recording = true;
  } else if (m.type === 'report') {
    parentPort.postMessage({ type: 'report', id: m.id, report: report() });
  } else if (m.type === 'expect') {
    // A new measurement step: clients expect `from` next (seqs continue across steps).
    expected.fill(m.from);
  } else if (m.type === 'close') {
    stopping = true;
    for (const ws of sockets) if (ws) ws.terminate();
    setTimeout(() => parentPort.postMessage({ type: 'closed' }), 50);
  }
});

connectAll().then(() => parentPort.postMessage({ type: 'connected' }));
