/**
 * A real local chain for the EVM tests: `hardhat node` (hardhat 2) on 127.0.0.1 and a free port,
 * run from fixtures/hardhat (it needs a config file there). HTTP and WebSocket share the port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort } from '../helpers/collector-process';
import { READY_TIMEOUT_MS } from '../helpers/deadlines';

const HARDHAT_CLI = resolve(__dirname, '../../../node_modules/hardhat/internal/cli/cli.js');
const FIXTURE_DIR = resolve(__dirname, 'fixtures/hardhat');

export interface HardhatNode {
  readonly port: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly proc: ChildProcess;
  output(): string;
  /** JSON-RPC call over HTTP; throws on a JSON-RPC error. */
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

export async function startHardhat(port?: number): Promise<HardhatNode> {
  const p = port ?? (await freePort());
  const proc = spawn(process.execPath, [HARDHAT_CLI, 'node', '--hostname', '127.0.0.1', '--port', String(p)], {
    cwd: FIXTURE_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  // If the test process dies without its afterAll, do not leave a chain running.
  const killOnExit = (): void => {
    proc.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const httpUrl = `http://127.0.0.1:${p}`;
  let nextId = 1;
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const r = await fetch(httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    });
    const body = (await r.json()) as { result?: T; error?: { message: string } };
    if (body.error) {
      throw new Error(`${method}: ${body.error.message}`);
    }
    return body.result as T;
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (proc.exitCode !== null) {
      throw new Error(`hardhat node exited with ${proc.exitCode}:\n${out}`);
    }
    try {
      await rpc('eth_chainId');
      break;
    } catch {
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`hardhat node not ready after ${READY_TIMEOUT_MS} ms:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port: p,
    httpUrl,
    wsUrl: `ws://127.0.0.1:${p}`,
    proc,
    output: () => out,
    rpc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}
