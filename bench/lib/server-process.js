'use strict';
/**
 * Starts the server under test as its own process: the real collector (collector/dist/main.js with
 * a config file and a temp SQLite file) or a baseline from bench/servers/. Raises the open-file
 * limit first (10,000 connections need more than the usual 1,024 descriptors), and can run the
 * process under `node --cpu-prof` so that a benchmark can be profiled as it runs.
 */
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync, writeFileSync, readFileSync } = require('node:fs');
const net = require('node:net');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '../..');
const COLLECTOR_MAIN = join(ROOT, 'collector/dist/main.js');
const SERVERS = {
  ws: join(__dirname, '../servers/ws-broadcast-server.js'),
  'ws-buffer': join(__dirname, '../servers/ws-broadcast-server.js'),
  socketio: join(__dirname, '../servers/socketio-server.js'),
};

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Collector config for benchmarks: limits raised so that the benchmark, not a limit, is measured. */
function benchCollectorConfig(extra = {}) {
  return {
    ws: { maxConnections: 20_000, heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: 30_000, maxSubscriptionsPerConnection: 256 },
    sse: {},
    channels: { maxChannels: 10_000 },
    retention: { maxMessages: 2_000_000, maxAgeSeconds: 86_400, checkIntervalMs: 60_000 },
    // Per-IP rate limits (docs/security.md) would throttle a load generator that opens every
    // connection and sends every request from 127.0.0.1: turned off here, and only here.
    auth: { limits: { connectionsPerIpPerSecond: 0, httpConnectionsPerIp: 0, publishRequestsPerSecond: 0, wsMessagesPerSecond: 0 } },
    ...extra,
  };
}

/**
 * @param {{kind:'collector'|'ws'|'socketio', port?:number, dataDir?:string, config?:object, cpuProfDir?:string, env?:object, main?:string}} o
 *   main: another build of the collector's main.js (an A/B run against a saved build).
 */
async function startServer(o) {
  const port = o.port || (await freePort());
  const dataDir = o.dataDir || mkdtempSync(join(tmpdir(), 'sg-bench-'));
  const nodeArgs = ['--max-old-space-size=4096'];
  if (o.cpuProfDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`);
  let script;
  let args = [];
  const env = { ...process.env, PORT: String(port), ...(o.kind === 'ws-buffer' ? { BENCH_WS_PREENCODE: '1' } : {}), ...(o.env || {}) };
  if (o.kind === 'collector') {
    const cfgPath = join(dataDir, 'bench-config.json');
    writeFileSync(cfgPath, JSON.stringify(o.config || benchCollectorConfig()));
    script = o.main || COLLECTOR_MAIN;
    args = ['--config', cfgPath];
    Object.assign(env, { SG_PORT: String(port), SG_HOST: '127.0.0.1', SG_SQLITE_PATH: join(dataDir, 'bench.db'), SG_LOG_LEVEL: 'warn' });
  } else {
    script = SERVERS[o.kind];
  }
  const cmd = `ulimit -n 65536 2>/dev/null || ulimit -n $(ulimit -Hn); exec node ${nodeArgs.join(' ')} ${script} ${args.join(' ')}`;
  const proc = spawn('bash', ['-c', cmd], { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  let output = '';
  proc.stdout.on('data', (d) => (output += d));
  proc.stderr.on('data', (d) => (output += d));
  const exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${o.kind} exited with ${proc.exitCode}: ${output.slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`${o.kind} not ready after 20 s: ${output.slice(-2000)}`);
    try {
      if (o.kind === 'collector') {
        const r = await fetch(`${url}/readyz`);
        if (r.ok) break;
      } else if (output.includes(`ready ${port}`)) {
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 30));
  }
  return {
    kind: o.kind,
    port,
    url,
    wsUrl: o.kind === 'socketio' ? `ws://127.0.0.1:${port}` : `ws://127.0.0.1:${port}/ws`,
    mode: o.kind === 'ws-buffer' ? 'ws' : o.kind,
    dataDir,
    pid: proc.pid, // bash exec'd node: same pid
    output: () => output,
    /** Resident set size of the server process, bytes (from /proc). */
    rss() {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : null;
    },
    /** CPU seconds (user + system) the server process has used so far (from /proc, 100 ticks/s). */
    cpuSeconds() {
      const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) {
        proc.kill(signal);
        const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }
    },
    cleanup() {
      if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function publishJson(url, messages) {
  const r = await fetch(`${url}/api/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages }),
  });
  if (!r.ok) throw new Error(`publish: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

module.exports = { startServer, freePort, benchCollectorConfig, publishJson, ROOT };
