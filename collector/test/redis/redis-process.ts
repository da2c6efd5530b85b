/**
 * A real redis-server (Debian package) on 127.0.0.1 and a free port, for the scale-out tests.
 * `persistent` turns on the append-only file in a temp dir, so a restart keeps the streams.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/collector-process';
import { READY_TIMEOUT_MS } from '../helpers/deadlines';
import { requireBinary } from '../helpers/system-binary';

export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Stops the server (SIGKILL: a crash, or SIGTERM: a clean stop, which writes the AOF). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** SIGSTOP: Redis hangs with its connections up (commands wait in the socket buffers). */
  pause(): void;
  /** SIGCONT: Redis runs what it received meanwhile, then answers again. */
  resume(): void;
  /** Stops it and removes its directory. */
  cleanup(): Promise<void>;
}

/**
 * persistent: an append-only file, fsync on every write (a restart keeps everything acknowledged).
 * Otherwise nothing is written, except a `SAVE` asked for by a test: Redis loads that snapshot
 * (dump.rdb in `dir`) when it starts again, as a restore from an older backup would.
 */
export async function startRedis(o: { persistent?: boolean } = {}): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sg-redis-'));
  let proc: ChildProcess | undefined;
  let out = '';

  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--appendonly', o.persistent ? 'yes' : 'no'];
    if (o.persistent) {
      // Every write on disk before the reply: a restart loses nothing that was acknowledged.
      args.push('--appendfsync', 'always');
    }
    const p = spawn(requireBinary('redis-server'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    out = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`redis-server did not start within ${READY_TIMEOUT_MS} ms:\n${out}`)), READY_TIMEOUT_MS);
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(t);
          resolve();
        }
      };
      p.stdout!.on('data', onData);
      p.stderr!.on('data', onData);
      p.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`redis-server exited with ${code}:\n${out}`));
      });
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    start: launch,
    pause: () => void proc?.kill('SIGSTOP'),
    resume: () => void proc?.kill('SIGCONT'),
    async cleanup() {
      proc?.kill('SIGCONT');
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
