#!/usr/bin/env node
/**
 * `npm run demo` without Docker: the dev chain (hardhat 2, interval mining), its Badge traffic, the
 * collector with the demo configuration (deploy/collector/demo.yaml) and, when the `prometheus`
 * binary is installed, Prometheus with prometheus/rules.yml. Prints the URLs; Ctrl-C stops
 * everything, newest first, and exits 0. If one part dies, the others are stopped and it exits 1.
 * package.json runs it as `exec node scripts/demo.js`: without `exec`, npm's `sh -c` also gets the
 * Ctrl-C and ends itself by SIGINT once we exit, so `npm run demo` would report 130, not our 0.
 *
 * Environment (a launcher reads its own options; the collector still gets its config as a file):
 *   SG_DEMO_PORT             collector port            (8080)
 *   SG_DEMO_CHAIN_PORT       dev chain JSON-RPC port    (8545)
 *   SG_DEMO_PROMETHEUS_PORT  Prometheus port            (9090)
 *   SG_DEMO_PROMETHEUS       0 to skip Prometheus even when installed
 *   SG_DEMO_SCRAPE_INTERVAL  Prometheus scrape interval (5s)
 *   SG_DEMO_DATA_DIR         state of this run, wiped at start (data/demo)
 *   SG_DEMO_BLOCK_MS         block interval of the dev chain in ms (2000)
 *   SG_DEMO_REORG_EVERY_S    seconds between demo reorgs (60; 0 = none)
 */
const { spawn, spawnSync } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, createWriteStream } = require('node:fs');
const { join, resolve } = require('node:path');
const { parse, stringify } = require('yaml');

const ROOT = resolve(__dirname, '..');
const env = process.env;
const opts = {
  port: Number(env.SG_DEMO_PORT || 8080),
  chainPort: Number(env.SG_DEMO_CHAIN_PORT || 8545),
  promPort: Number(env.SG_DEMO_PROMETHEUS_PORT || 9090),
  prometheus: env.SG_DEMO_PROMETHEUS !== '0',
  scrapeInterval: env.SG_DEMO_SCRAPE_INTERVAL || '5s',
  dataDir: resolve(ROOT, env.SG_DEMO_DATA_DIR || 'data/demo'),
  blockMs: Number(env.SG_DEMO_BLOCK_MS || 2000),
  reorgEveryS: Number(env.SG_DEMO_REORG_EVERY_S ?? 60),
};

/** Children in start order; stopped in reverse. */
const children = [];
let stopping = false;

function log(line) {
  process.stdout.write(`[demo] ${line}\n`);
}

/** Forwards a child's output line by line with a name prefix (or into a file for chatty ones). */
function pipe(stream, name, sink) {
  let buf = '';
  stream.on('data', (d) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop();
    for (const l of lines) {
      if (sink) {
        sink.write(`${l}\n`);
      } else if (l.trim()) {
        process.stdout.write(`[${name}] ${l}\n`);
      }
    }
  });
}

function start(name, cmd, args, o = {}) {
  // Each child in its own process group: Ctrl-C in the terminal signals only this launcher (and
  // npm), which then stops the children itself, newest first. Otherwise the chain would die at the
  // same instant as the traffic still sending to it ("HTTP request failed"), and a child exiting
  // before the launcher saw the signal would look like a crash (exit 1).
  const proc = spawn(cmd, args, {
    cwd: o.cwd || ROOT,
    env: { ...(o.baseEnv || env), ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const sink = o.logFile ? createWriteStream(o.logFile) : undefined;
  pipe(proc.stdout, name, sink);
  pipe(proc.stderr, name, sink);
  const child = { name, proc, exited: new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal }))) };
  children.push(child);
  child.exited.then(({ code, signal }) => {
    if (!stopping) {
      log(`${name} exited unexpectedly (code ${code}, signal ${signal}); stopping the demo`);
      void shutdown(1);
    }
  });
  proc.on('error', (err) => {
    if (!stopping) {
      log(`${name} could not start: ${err.message}`);
      void shutdown(1);
    }
  });
  return child;
}

async function stopChild(c) {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) {
    return;
  }
  c.proc.kill('SIGTERM');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), 10_000);
  await c.exited;
  clearTimeout(t);
}

async function shutdown(code) {
  if (stopping) {
    return;
  }
  stopping = true;
  log('stopping…');
  for (const c of [...children].reverse()) {
    await stopChild(c);
    log(`${c.name} stopped`);
  }
  process.exit(code);
}

async function waitFor(what, check, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (stopping) {
      throw new Error('stopped');
    }
    try {
      if (await check()) {
        return;
      }
    } catch {
      // not up yet
    }
    if (Date.now() > until) {
      throw new Error(`${what} not ready after ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function hasPrometheus() {
  return spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function main() {
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGHUP', () => void shutdown(0));
  // The children are not in our process group: never leave one behind, even on an error exit.
  process.on('exit', () => {
    for (const c of children) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) {
        c.proc.kill('SIGKILL');
      }
    }
  });

  if (!existsSync(join(ROOT, 'collector/dist/main.js'))) {
    log('collector/dist is missing: npm run build:collector');
    const b = spawnSync('npm', ['run', 'build:collector'], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) {
      process.exit(1);
    }
  }
  rmSync(opts.dataDir, { recursive: true, force: true });
  mkdirSync(opts.dataDir, { recursive: true });

  const chainUrl = `http://127.0.0.1:${opts.chainPort}`;
  start(
    'chain',
    process.execPath,
    [join(ROOT, 'node_modules/hardhat/internal/cli/cli.js'), 'node', '--hostname', '127.0.0.1', '--port', String(opts.chainPort)],
    {
      cwd: join(ROOT, 'deploy/chain'),
      env: { CHAIN_BLOCK_MS: String(opts.blockMs) },
      // hardhat logs every RPC call: keep it out of the console.
      logFile: join(opts.dataDir, 'chain.log'),
    },
  );
  await waitFor('dev chain', async () => {
    const r = await fetch(chainUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
    });
    return r.ok;
  });
  start('traffic', process.execPath, [join(ROOT, 'deploy/chain/traffic.js')], {
    env: { CHAIN_RPC_URL: chainUrl, REORG_EVERY_S: String(opts.reorgEveryS) },
  });

  const config = parse(readFileSync(join(ROOT, 'deploy/collector/demo.yaml'), 'utf8'));
  config.server.port = opts.port;
  config.store.path = join(opts.dataDir, 'collector.db');
  for (const c of config.evm.chains) {
    c.rpcUrls = [chainUrl];
  }
  const configFile = join(opts.dataDir, 'collector.yaml');
  writeFileSync(configFile, stringify(config));
  const collectorUrl = `http://127.0.0.1:${opts.port}`;
  // The collector lets SG_* variables override its file (SG_PORT, SG_SQLITE_PATH…): drop any set in
  // this shell so the demo's own ports and data directory win.
  const collectorEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('SG_')));
  start('collector', process.execPath, [join(ROOT, 'collector/dist/main.js'), '--config', configFile], {
    baseEnv: collectorEnv,
    env: { SG_LOG_LEVEL: env.SG_LOG_LEVEL || 'warn' },
  });
  await waitFor('collector', async () => (await fetch(`${collectorUrl}/readyz`)).ok);

  let promUrl = '';
  if (opts.prometheus && hasPrometheus()) {
    const promConfig = {
      global: { scrape_interval: opts.scrapeInterval, evaluation_interval: opts.scrapeInterval },
      rule_files: [join(ROOT, 'prometheus/rules.yml')],
      scrape_configs: [{ job_name: 'streamgauge-collector', static_configs: [{ targets: [`127.0.0.1:${opts.port}`] }] }],
    };
    writeFileSync(join(opts.dataDir, 'prometheus.yml'), stringify(promConfig));
    start(
      'prometheus',
      'prometheus',
      [
        `--config.file=${join(opts.dataDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(opts.dataDir, 'prometheus')}`,
        `--web.listen-address=127.0.0.1:${opts.promPort}`,
      ],
      { logFile: join(opts.dataDir, 'prometheus.log') },
    );
    promUrl = `http://127.0.0.1:${opts.promPort}`;
    await waitFor('prometheus', async () => (await fetch(`${promUrl}/-/ready`)).ok);
  } else if (opts.prometheus) {
    log('prometheus is not installed (apt-get install prometheus): skipping it');
  }

  log('running:');
  log(`  collector   ${collectorUrl}  (channels: ${collectorUrl}/api/v1/channels, metrics: ${collectorUrl}/metrics)`);
  log(`  live feed   curl -N '${collectorUrl}/api/v1/stream?channels=evm/local/blocks,attendance/scans'`);
  log(`  dev chain   ${chainUrl}  (chain id 31337, a block every ${opts.blockMs} ms; log: ${join(opts.dataDir, 'chain.log')})`);
  if (promUrl) {
    log(`  prometheus  ${promUrl}  (alerts: ${promUrl}/alerts)`);
  }
  log('  grafana     not started locally: docker compose up (docs/demo.md)');
  log('Ctrl-C stops everything.');
}

main().catch((err) => {
  if (!stopping) {
    log(`failed: ${err.message}`);
    void shutdown(1);
  }
});
