'use strict';
/**
 * The load generator: HTTP/1.1 POST /api/v1/publish over a few keep-alive TCP connections, with
 * every request (headers and body) built before the clock starts. The hot path only stamps a send
 * time into a shared Float64Array and writes a ready Buffer; responses are counted by scanning
 * for "HTTP/1.1 " byte by byte (bodies are JSON and never contain it), so nothing is parsed or
 * allocated per message.
 */
const net = require('node:net');
const { performance } = require('node:perf_hooks');

const now = () => performance.timeOrigin + performance.now();
const MARK = Buffer.from('HTTP/1.1 ');

/**
 * Requests for messages seq .. seq+count-1 on `channel`, `batchSize` per request:
 * {"messages":[{"channel":…,"data":{"s":seq,"pad":"…"}},…]}.
 */
function buildRequests({ host, port, path = '/api/v1/publish', channel, seq, count, batchSize, pad = '' }) {
  const reqs = new Array(Math.ceil(count / batchSize));
  const padJson = pad ? `,"pad":${JSON.stringify(pad)}` : '';
  for (let r = 0; r < reqs.length; r++) {
    let body = '{"messages":[';
    const lo = seq + r * batchSize;
    const hi = Math.min(seq + count, lo + batchSize);
    for (let s = lo; s < hi; s++) {
      body += `${s === lo ? '' : ','}{"channel":"${channel}","data":{"s":${s}${padJson}}}`;
    }
    body += ']}';
    reqs[r] = Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  return reqs;
}

class Publisher {
  constructor({ host = '127.0.0.1', port, connections = 2 }) {
    this.host = host;
    this.port = port;
    this.n = connections;
    this.sockets = [];
    this.ok = 0;
    this.failed = 0;
    this.onResponse = null;
  }

  async connect() {
    for (let i = 0; i < this.n; i++) {
      const s = net.connect({ host: this.host, port: this.port, noDelay: true });
      await new Promise((res, rej) => {
        s.once('connect', res);
        s.once('error', rej);
      });
      s.on('error', () => undefined);
      let m = 0; // bytes of MARK matched so far, across chunks
      let status = false;
      s.on('data', (chunk) => {
        for (let j = 0; j < chunk.length; j++) {
          const c = chunk[j];
          if (status) {
            status = false;
            if (c === 50 /* 2xx */) this.ok++;
            else this.failed++;
            if (this.onResponse) this.onResponse(i);
            continue;
          }
          if (c === MARK[m]) {
            if (++m === MARK.length) {
              m = 0;
              status = true;
            }
          } else {
            m = c === MARK[0] ? 1 : 0;
          }
        }
      });
      this.sockets.push(s);
    }
  }

  /**
   * Open loop: sends requests at `rate` messages/s (requests of `batchSize`), stamping
   * sendTimes[batchBase + k] just before writing request k. Resolves when all are answered.
   */
  async paced({ requests, rate, batchSize, sendTimes, batchBase = 0, timeoutMs = 30_000 }) {
    const start = this.ok + this.failed;
    const perMs = rate / batchSize / 1000;
    const t0 = now();
    let sent = 0;
    await new Promise((resolve) => {
      const tick = () => {
        const due = Math.min(requests.length, Math.floor((now() - t0) * perMs) + 1);
        while (sent < due) {
          sendTimes[batchBase + sent] = now();
          this.sockets[sent % this.n].write(requests[sent]);
          sent++;
        }
        if (sent < requests.length) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
    const sentAt = now();
    await this.drained(start + requests.length, timeoutMs);
    return { sent: requests.length, durationMs: sentAt - t0 };
  }

  /** Closed loop: `inFlight` requests outstanding per connection, next one sent on each response. */
  /** `request`: the bytes to send each time, or a function returning them (requests that must differ). */
  async closedLoop({ request: req, durationMs, inFlight = 2 }) {
    const next = typeof req === 'function' ? req : () => req;
    const start = this.ok + this.failed;
    let sent = 0;
    let stop = false;
    this.onResponse = (i) => {
      if (!stop) {
        this.sockets[i].write(next());
        sent++;
      }
    };
    const t0 = now();
    for (let i = 0; i < this.n; i++) {
      for (let k = 0; k < inFlight; k++) {
        this.sockets[i].write(next());
        sent++;
      }
    }
    await new Promise((r) => setTimeout(r, durationMs));
    stop = true;
    const okAtStop = this.ok;
    const elapsed = now() - t0;
    await this.drained(start + sent, 30_000);
    this.onResponse = null;
    return { requestsOk: okAtStop - start, elapsedMs: elapsed, failed: this.failed };
  }

  async drained(target, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (this.ok + this.failed < target) {
      if (Date.now() > deadline) throw new Error(`publisher: ${target - this.ok - this.failed} requests unanswered after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close() {
    for (const s of this.sockets) s.destroy();
  }
}

module.exports = { buildRequests, Publisher, now };
