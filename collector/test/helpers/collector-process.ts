/**
 * Starts a real collector process (collector/dist/main.js, built by `npm run build:collector`) on
 * 127.0.0.1 and a free port, with a temporary data directory. Tests use it instead of mocks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { READY_TIMEOUT_MS } from './deadlines';

export const COLLECTOR_MAIN = resolve(__dirname, '../../dist/main.js');

export interface StartOptions {
  /** Config object, written to a YAML file and passed with --config. */
  config?: Record<string, unknown>;
  /** Extra environment variables (SG_*). */
  env?: Record<string, string>;
  /** Extra CLI arguments (e.g. --demo). */
  args?: string[];
  /** Reuse a data directory (restart tests); default: a fresh temp dir. */
  dataDir?: string;
  /** Fixed port (restart on the same port); default: a free one. */
  port?: number;
  /** ms to wait for /readyz; default READY_TIMEOUT_MS (90 s, SG_TEST_READY_TIMEOUT_MS), which only bounds a hang. */
  readyTimeoutMs?: number;
}

export interface CollectorProcess {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  readonly dataDir: string;
  readonly proc: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** Sends a signal (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops (SIGTERM) and starts again on the same port and data directory. */
  restart(): Promise<CollectorProcess>;
  /** Removes the data directory (after stop). */
  cleanup(): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/** Polls `url` until it answers 2xx; fails early when `proc` exits first. */
export async function waitForHttp(url: string, timeoutMs: number = READY_TIMEOUT_MS, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (proc && proc.exitCode !== null) {
      throw new Error(`process exited with ${proc.exitCode} before ${url} answered`);
    }
    try {
      const r = await fetch(url);
      if (r.ok) {
        return;
      }
      lastErr = new Error(`HTTP ${r.status}`);
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${String(lastErr)}`);
}

export async function startCollector(o: StartOptions = {}): Promise<CollectorProcess> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'sg-collector-'));
  const port = o.port ?? (await freePort());
  const args = [COLLECTOR_MAIN, ...(o.args ?? [])];
  if (o.config) {
    const file = join(dataDir, 'config.yaml');
    writeFileSync(file, stringify(o.config));
    args.push('--config', file);
  }
  const proc = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      SG_HOST: '127.0.0.1',
      SG_PORT: String(port),
      SG_SQLITE_PATH: join(dataDir, 'streamgauge.db'),
      SG_LOG_LEVEL: 'warn',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  try {
    await waitForHttp(`${url}/readyz`, o.readyTimeoutMs ?? READY_TIMEOUT_MS, proc);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- collector output ---\n${out}`);
  }
  const handle: CollectorProcess = {
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    port,
    dataDir,
    proc,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        return proc.exitCode;
      }
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
    async restart() {
      await handle.stop('SIGTERM');
      return startCollector({ ...o, dataDir, port });
    },
    cleanup() {
      if (!o.dataDir) {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
  return handle;
}

/** POST /api/v1/publish; returns status and parsed body. */
export async function publish(
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const r = await fetch(`${baseUrl}/api/v1/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: r.status, body: parsed };
}
