/**
 * Moves SQLite's WAL checkpoint off the publish path.
 *
 * Why: with the default wal_autocheckpoint, the commit that crosses 1,000 WAL pages runs the
 * checkpoint itself (copy the WAL into the database file, fsync both) inside a publish
 * transaction, on the event loop: every publish and delivery waits for it. That was the p99 tail
 * at 10,000 msg/s (BENCHMARKS.md). Here the publish connection has autocheckpoint off and a worker
 * thread with its own connection checkpoints instead. A commit is still durable when it returns:
 * it is in the WAL (synchronous=NORMAL survives a crash of the process), so "acknowledged only
 * once stored" is unchanged; only the copy into the main file moved.
 *
 * The bound: a PASSIVE checkpoint never blocks the writer, but the WAL is only rewound when a
 * writer starts after a checkpoint that caught up completely. Under sustained writes that may never
 * happen and the WAL grows without limit (it did in the first experiment). So every `tickMs` the
 * worker looks at the WAL file's size (a stat, cheap) and, once it reaches `maxWalBytes`, it runs a
 * PASSIVE pass (most of the copying, writers unhindered), raises a flag, and runs a TRUNCATE
 * checkpoint, which needs a moment with no writer: SQLite's locks are not fair, so a writer
 * committing back to back would starve it. The publish connection checks the flag before each
 * append (`beforeWrite`, one Atomics.load) and, while it is up, waits for the TRUNCATE to finish
 * (at most `busyTimeoutMs`). That wait is the back-pressure that keeps a writer faster than the
 * disk from growing the WAL; at ordinary rates it comes once per `maxWalBytes` written and lasts
 * as long as copying what the last PASSIVE pass left. The file grows past its current size only
 * when the frames in use do (after a rewind, journal_size_limit cuts it back to a quarter of the
 * bound), so its size is a safe trigger. The WAL holds at most about `maxWalBytes` + what is
 * committed in one `tickMs` and one PASSIVE pass (docs/configuration.md, store section).
 *
 * If the worker fails, `onFailure` is called; SqliteLog then turns autocheckpoint back on, so the
 * WAL stays bounded the old way.
 */
import { Worker } from 'node:worker_threads';

export interface WalCheckpointerOptions {
  /** The SQLite file (WAL mode already set by the publish connection). */
  path: string;
  /** How often the worker runs a PASSIVE checkpoint, ms. */
  intervalMs?: number;
  /** How often the worker checks the WAL file's size, ms. */
  tickMs?: number;
  /** WAL file size at which a TRUNCATE checkpoint empties it (holding writers back meanwhile). */
  maxWalBytes?: number;
  /** Busy timeout of the checkpoint connection, ms (RESTART waits this long for the writer). */
  busyTimeoutMs?: number;
  /** Called once if the worker stops on its own (error, crash). */
  onFailure?: (err: Error) => void;
}

export const WAL_CHECKPOINT_DEFAULTS = Object.freeze({
  intervalMs: 100,
  tickMs: 10,
  maxWalBytes: 64 * 1024 * 1024,
  busyTimeoutMs: 5_000,
});

/**
 * journal_size_limit for the publish connection: after a rewind its next commit cuts the WAL file
 * back to this, a quarter of the bound, so that the file's size keeps tracking the frames in use.
 */
export function journalSizeLimit(maxWalBytes: number = WAL_CHECKPOINT_DEFAULTS.maxWalBytes): number {
  return Math.floor(maxWalBytes / 4);
}

export interface WalCheckpointer {
  /** Frames in the WAL after the last pass, TRUNCATE checkpoints run, PASSIVE passes run (tests, metrics). */
  stats(): { walFrames: number; truncates: number; passes: number };
  /**
   * Called by the publish connection before each write transaction: returns at once, unless a
   * TRUNCATE checkpoint is waiting for the writer to pause; then blocks until it is done.
   */
  beforeWrite(): void;
  /** Stops the worker and closes its connection. */
  stop(): Promise<void>;
}

/**
 * The worker's body, run from source text (`eval`) so that the same code runs from dist/ and under
 * the TypeScript test transform without a separate .js file to locate. Only plain JavaScript here.
 */
function workerMain(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parentPort, workerData } = require('node:worker_threads');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { statSync } = require('node:fs');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Database = require(workerData.betterSqlite3);
  const stats = new Int32Array(workerData.statsSab); // [walFrames, truncates, passes, holdWriters]
  const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
  const walPath = `${workerData.path}-wal`;
  let lastPass = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const walSize = (): number => {
    try {
      return statSync(walPath).size;
    } catch {
      return 0; // no WAL file (yet)
    }
  };
  const passive = (): void => {
    const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    Atomics.store(stats, 0, r.log);
    Atomics.add(stats, 2, 1);
    lastPass = Date.now();
  };
  const tick = (): void => {
    if (walSize() >= workerData.maxWalBytes) {
      passive();
      Atomics.store(stats, 3, 1);
      try {
        const r = db.pragma('wal_checkpoint(TRUNCATE)')[0];
        if (r.busy === 0) {
          Atomics.add(stats, 1, 1);
          Atomics.store(stats, 0, 0);
        }
      } finally {
        Atomics.store(stats, 3, 0);
        Atomics.notify(stats, 3);
      }
    } else if (Date.now() - lastPass >= workerData.intervalMs) {
      passive();
    }
    timer = setTimeout(tick, workerData.tickMs);
  };
  parentPort.on('message', (m: string) => {
    if (m === 'stop') {
      clearTimeout(timer);
      db.close();
      parentPort.close();
    }
  });
  tick();
}

export function startWalCheckpointer(o: WalCheckpointerOptions): WalCheckpointer {
  const statsSab = new SharedArrayBuffer(16);
  const busyTimeoutMs = o.busyTimeoutMs ?? WAL_CHECKPOINT_DEFAULTS.busyTimeoutMs;
  const stats = new Int32Array(statsSab);
  const worker = new Worker(`(${workerMain.toString()})()`, {
    eval: true,
    workerData: {
      path: o.path,
      // Resolved here: code run with eval resolves modules from the working directory.
      betterSqlite3: require.resolve('better-sqlite3'),
      intervalMs: o.intervalMs ?? WAL_CHECKPOINT_DEFAULTS.intervalMs,
      tickMs: o.tickMs ?? WAL_CHECKPOINT_DEFAULTS.tickMs,
      maxWalBytes: o.maxWalBytes ?? WAL_CHECKPOINT_DEFAULTS.maxWalBytes,
      busyTimeoutMs,
      statsSab,
    },
  });
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let failure: Error | undefined;
  worker.on('error', (err) => {
    failure = err;
  });
  void exited.then(() => {
    Atomics.store(stats, 3, 0); // never leave writers waiting on a worker that is gone
    if (!stopping) {
      o.onFailure?.(failure ?? new Error('WAL checkpoint worker exited'));
    }
  });
  // The worker must never keep the process alive on its own: stop() is the way out.
  worker.unref();
  return {
    stats: () => ({ walFrames: Atomics.load(stats, 0), truncates: Atomics.load(stats, 1), passes: Atomics.load(stats, 2) }),
    beforeWrite() {
      if (Atomics.load(stats, 3) === 1) {
        Atomics.wait(stats, 3, 1, busyTimeoutMs);
      }
    },
    async stop() {
      if (stopping) {
        return exited;
      }
      stopping = true;
      worker.postMessage('stop');
      const t = setTimeout(() => void worker.terminate(), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
