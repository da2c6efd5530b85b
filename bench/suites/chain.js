'use strict';
/**
 * Chain: new head to WebSocket delivery. A hardhat 2 node (its own process, automining off: blocks
 * come only from evm_mine) feeds the collector's EVM source over WebSocket (newHeads); one
 * subscriber follows evm/local/blocks. Latency = arrival of block N on the collector's WebSocket -
 * the moment evm_mine for N returned (the block exists on the node from then).
 */
const { spawn } = require('node:child_process');
const { mkdtempSync, rmSync, writeFileSync, existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');
const WebSocket = require('ws');
const { startServer, freePort, benchCollectorConfig, ROOT } = require('../lib/server-process');
const { sleep } = require('../lib/subscribers');
const H = require('../lib/histogram');

const now = () => performance.timeOrigin + performance.now();
const HARDHAT_CLI = join(ROOT, 'node_modules/hardhat/internal/cli/cli.js');
const EVM_SOURCE = join(ROOT, 'collector/dist/sources/evm/evm-source.js');

async function startHardhat() {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-hardhat-'));
  writeFileSync(join(dir, 'hardhat.config.js'), "module.exports = { solidity: '0.8.28', networks: { hardhat: { chainId: 31337, mining: { auto: false, interval: 0 } } } };\n");
  const port = await freePort();
  // cwd inside the repository (hardhat refuses a non-local installation, HH12); config in a temp dir.
  const proc = spawn(process.execPath, [HARDHAT_CLI, '--config', join(dir, 'hardhat.config.js'), 'node', '--hostname', '127.0.0.1', '--port', String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' } });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 30_000;
  while (!out.includes('Started HTTP and WebSocket JSON-RPC server')) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`hardhat node did not start: ${out.slice(-1500)}`);
    await sleep(50);
  }
  const rpc = async (method, params = []) => {
    const r = await fetch(`http://127.0.0.1:${port}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
    const body = await r.json();
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  };
  return {
    port,
    rpc,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function runChain(ctx) {
  if (!existsSync(EVM_SOURCE)) return { notMeasured: 'the EVM source (collector/src/sources/evm/evm-source.ts) is not built' };
  const blocks = ctx.quick ? 10 : 50;
  const node = await startHardhat();
  let server;
  let ws;
  try {
    server = await startServer({
      kind: 'collector',
      config: benchCollectorConfig({ evm: { chains: [{ name: 'local', chainId: 31337, rpcUrls: [`ws://127.0.0.1:${node.port}`], confirmations: 0 }] } }),
    });
    const arrivals = new Map();
    ws = new WebSocket(server.wsUrl, { perMessageDeflate: false });
    let subscribed = false;
    ws.on('message', (buf) => {
      const t = now();
      const f = JSON.parse(buf.toString());
      if (f.type === 'subscribed') subscribed = true;
      if (f.type === 'messages') for (const m of f.messages) if (!arrivals.has(m.data.number)) arrivals.set(m.data.number, t);
    });
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    // The source declares its channels when it starts; the collector is ready only after that.
    ws.send(JSON.stringify({ op: 'subscribe', id: 1, channel: 'evm/local/blocks' }));
    const deadline = Date.now() + 10_000;
    while (!subscribed && Date.now() < deadline) await sleep(20);
    if (!subscribed) throw new Error('no subscribed frame for evm/local/blocks');
    await sleep(500); // let the source's newHeads subscription settle
    const mined = new Map();
    for (let i = 0; i < blocks + 3; i++) {
      await node.rpc('evm_mine');
      const t = now();
      const n = Number(await node.rpc('eth_blockNumber'));
      mined.set(n, t);
      await sleep(100);
    }
    const until = Date.now() + 5_000;
    while ([...mined.keys()].some((n) => !arrivals.has(n)) && Date.now() < until) await sleep(20);
    const h = H.createHistogram(H.FINE);
    let missing = 0;
    const nums = [...mined.keys()].slice(3); // the first blocks warm the path
    for (const n of nums) {
      if (arrivals.has(n)) H.record(h, arrivals.get(n) - mined.get(n), 1);
      else missing++;
    }
    return { transport: 'ws newHeads', blocks: nums.length, missing, latencyMs: H.summary(h) };
  } finally {
    if (ws) ws.terminate();
    if (server) {
      await server.stop();
      server.cleanup();
    }
    await node.stop();
  }
}

module.exports = { runChain };
