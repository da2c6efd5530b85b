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
 * The bound: a PASSIVE checkpoint never blocks the writer, but the WAL is only rewound (written
 * again from its start) when a writer begins after a checkpoint that caught up completely. Under
 * sustained writes a PASSIVE pass never catches up (commits arrive while it copies and fsyncs), so
 * the WAL would grow without limit (it did in the first experiment). Two measures, both needing a
 * moment with no writer, which the publish connection grants: it checks a flag before each append
 * (`beforeWrite`, one Atomics.load) and, while the flag is up, waits (at most `busyTimeoutMs`).
 * SQLite's locks are not fair, so without that a writer committing back to back would starve them.
 * 1. Rewind: when a PASSIVE pass reports `rewindFrames` or more in the WAL, the worker raises the
 *    flag and runs one more PASSIVE pass, which only has the frames committed during the first one
 *    to copy; the next commit then rewinds the WAL. Writers wait for that short tail only, once
 *    per `rewindFrames` pages written (every few seconds at 10,000 msg/s).
 * 2. Hard bound: every `tickMs` the worker looks at the WAL file's size (a stat; the file grows past
 *    its size only when the frames in use do) and, at `maxWalBytes`, runs a TRUNCATE checkpoint with
 *    the flag up: the back-pressure that keeps a writer faster than the disk from growing the WAL.
 * The WAL therefore holds at most about `maxWalBytes` + what is committed during one PASSIVE pass
 * (docs/configuration.md, store section): at ordinary rates a little; for a writer much faster than
 * the disk, up to the bound times the ratio of their speeds, since a pass copies what was there when
 * it began. journal_size_limit is the bound, so a rewind never truncates the file on the publish
 * path.
 *
 * When to copy: a PASSIVE pass fsyncs the WAL and then the database file, and copies each page
 * once however many commits changed it since the last pass, so its cost is mostly per pass, not
 * per commit. A pass therefore runs once `passBytes` have been appended since the last one (the
 * publish connection counts them: `afterWrite`) or `intervalMs` after it when anything was
 * committed meanwhile. At 1,000 msg/s that is one pass a second instead of ten, and a third of
 * the worker's CPU (bench/micro/fanout-cpu-ab.js); at 10,000 msg/s and more about ten a second or
 * more, as before, which keeps the WAL as far from its bound and the delivery tail as short.
 *
 * If the worker fails, `onFailure` is called; SqliteLog then turns autocheckpoint back on, so the
 * WAL stays bounded the old way.
 */
import { Worker } from 'node:worker_threads';

export interface WalCheckpointerOptions {
  /** The SQLite file (WAL mode already set by the publish connection). */
  path: string;
  /** The longest time between a commit and the PASSIVE checkpoint that copies it, ms. */
  intervalMs?: number;
  /** Bytes appended (as counted by afterWrite) after which a PASSIVE checkpoint runs at once. */
  passBytes?: number;
  /** How often the worker checks the WAL file's size, ms. */
  tickMs?: number;
  /** WAL frames (pages) after which the worker holds writers for a final pass so the WAL rewinds. */
  rewindFrames?: number;
  /** WAL file size at which a TRUNCATE checkpoint empties it (holding writers back meanwhile). */
  maxWalBytes?: number;
  /** Busy timeout of the checkpoint connection, and the longest a held writer waits, ms. */
  busyTimeoutMs?: number;
  /** Called once if the worker stops on its own (error, crash). */
  onFailure?: (err: Error) => void;
}

export const WAL_CHECKPOINT_DEFAULTS = Object.freeze({
  intervalMs: 1_000,
  /**
   * 256 KB: larger passes cost less CPU in all, but each is a longer burst of copying and fsyncs
   * beside the publish path. At 50,000 msg/s passes of 4 MB let the WAL reach the 64 MB bound
   * (each rewind waits for a pass that sees 32 MB, and a long pass lets more pile up) and the
   * TRUNCATE there held publishes 70-90 ms (bench/micro/sqlite-append-ab.js); at 10,000 msg/s
   * passes of 1 MB left the delivery p99 about 10 % above passes every 100 ms, 256 KB did not
   * (bench/suites/latency.js, A/B of two builds). Below about 250 KB/s (1,000 msg/s of 250 bytes)
   * the 1 s interval decides instead.
   */
  passBytes: 256 * 1024,
  /**
   * While bytes arrive fast (at least FAST_TICK_BYTES per tick) the worker looks every tickMs; at
   * a trickle, every 100 ms: each wake of a thread costs about 0.1 ms of CPU on a small VM,
   * whatever it then does, so 10 ms ticks under any write load cost 10 ms of CPU per second.
   */
  tickMs: 10,
  /** 32 MB with 4 KB pages. */
  rewindFrames: 8_192,
  maxWalBytes: 64 * 1024 * 1024,
  busyTimeoutMs: 5_000,
});

/**
 * journal_size_limit for the publish connection: the bound itself, so that a rewind below the bound
 * never truncates the file inside a commit, and a file past it (a burst faster than the
 * checkpoints) is cut back at the next rewind.
 */
export function journalSizeLimit(maxWalBytes: number = WAL_CHECKPOINT_DEFAULTS.maxWalBytes): number {
  return maxWalBytes;
}

/** Atomics.waitAsync (Node 16+; TypeScript's lib has it from es2024). */
interface WaitAsync {
  waitAsync(
    a: Int32Array,
    i: number,
    v: number,
    timeoutMs: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
}

export interface WalCheckpointer {
  /**
   * Settles once the worker has opened its connection and made its first pass: opening a WAL
   * database takes locks a commit would wait for, so the log starts taking writes after that.
   * Never rejects (a worker that fails calls onFailure instead).
   */
  readonly ready: Promise<void>;
  /**
   * Frames in the WAL after the last pass, TRUNCATE checkpoints, PASSIVE passes, rewinds granted by
   * a hold, the longest time writers were held, µs, how often the WAL file's size was looked at, and
   * how often the worker woke (tests, metrics, the A/B micro-benchmark).
   */
  stats(): { walFrames: number; truncates: number; passes: number; rewinds: number; maxHoldUs: number; sizeChecks: number; ticks: number };
  /**
   * Called by the publish connection before each write transaction: returns at once, unless a
   * TRUNCATE checkpoint is waiting for the writer to pause; then blocks until it is done.
   */
  beforeWrite(): void;
  /** Called by the publish connection after a commit with about how many bytes it appended. */
  afterWrite(bytes: number): void;
  /** Stops the worker and closes its connection. */
  stop(): Promise<void>;
}

/** The shared Int32 slots between the publish connection and the worker. */
const SLOT = Object.freeze({
  /** WAL frames after the last pass. */
  WAL_FRAMES: 0,
  TRUNCATES: 1,
  PASSES: 2,
  /** 1 while the worker holds writers back (they wait on it in beforeWrite). */
  HOLD: 3,
  REWINDS: 4,
  MAX_HOLD_US: 5,
  SIZE_CHECKS: 6,
  /** Bytes appended, counted by afterWrite; the worker waits on it when idle. */
  BYTES: 7,
  /** Ticks of the worker (each wake that looks at data_version). */
  TICKS: 8,
});

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
  const IDLE_TICK_MS = 100;
  /** Bytes appended per tick at or above which the worker keeps its short tick (see tickMs). */
  const FAST_TICK_BYTES = 64 * 1024;
  let bytesAtTick = 0;
  // The shared counters (SLOT); BYTES wraps around at 2^31: only differences of it are used, |0 keeps them right.
  const S: typeof SLOT = workerData.slots;
  const stats = new Int32Array(workerData.statsSab);
  const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
  const walPath = `${workerData.path}-wal`;
  let lastPass = 0;
  let bytesAtPass = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // SQLite's data_version (as seen by this connection) changes when another connection commits:
  // with no commit since the last tick the WAL has not grown, and with none since a pass that
  // copied everything there is nothing to do: the worker then sleeps (waitForWrite) and runs
  // neither a stat nor a checkpoint (a 10 ms poll cost ~17 ms of CPU per second with nothing
  // published: bench/micro/fanout-cpu-ab.js).
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  let versionAtTick = -1;
  let versionAtPass = -1;
  let caughtUp = false;
  let mustStat = true;
  const walSize = (): number => {
    Atomics.add(stats, S.SIZE_CHECKS, 1);
    try {
      return statSync(walPath).size;
    } catch {
      return 0; // no WAL file (yet)
    }
  };
  const checkpoint = (mode: string): { busy: number; log: number; checkpointed: number } => {
    const r = db.pragma(`wal_checkpoint(${mode})`)[0];
    Atomics.store(stats, S.WAL_FRAMES, r.log);
    Atomics.add(stats, S.PASSES, 1);
    return r;
  };
  /** Runs fn with writers held back (they wait in beforeWrite), and records how long. */
  const holdWriters = <T>(fn: () => T): T => {
    const t0 = process.hrtime.bigint();
    Atomics.store(stats, S.HOLD, 1);
    try {
      return fn();
    } finally {
      Atomics.store(stats, S.HOLD, 0);
      Atomics.notify(stats, S.HOLD);
      const us = Number((process.hrtime.bigint() - t0) / 1000n);
      if (us > Atomics.load(stats, S.MAX_HOLD_US)) {
        Atomics.store(stats, S.MAX_HOLD_US, Math.min(us, 2 ** 31 - 1));
      }
    }
  };
  const tick = (): void => {
    Atomics.add(stats, S.TICKS, 1);
    const version = dataVersion.get();
    const wrote = version !== versionAtTick;
    versionAtTick = version;
    // The size is looked at after a commit, or when the last look could not finish its work; the
    // first tick always looks (mustStat starts true). Only a TRUNCATE kept from finishing by a
    // reader asks for another look without a new commit.
    const look = wrote || mustStat;
    mustStat = false;
    if (look && walSize() >= workerData.maxWalBytes) {
      // Past the bound the writer outruns the checkpoints: hold it at once (no unhindered pass first).
      const r = holdWriters(() => checkpoint('TRUNCATE'));
      if (r.busy === 0) {
        Atomics.add(stats, S.TRUNCATES, 1);
        Atomics.store(stats, S.WAL_FRAMES, 0);
      }
      mustStat = r.busy !== 0; // a reader kept it from finishing: look again next tick
      caughtUp = r.busy === 0;
      versionAtPass = version;
      bytesAtPass = Atomics.load(stats, S.BYTES);
      lastPass = Date.now();
    } else if (
      (version !== versionAtPass || !caughtUp) &&
      (Date.now() - lastPass >= workerData.intervalMs || ((Atomics.load(stats, S.BYTES) - bytesAtPass) | 0) >= workerData.passBytes)
    ) {
      bytesAtPass = Atomics.load(stats, S.BYTES);
      let r = checkpoint('PASSIVE');
      if (r.log >= workerData.rewindFrames) {
        r = holdWriters(() => checkpoint('PASSIVE'));
        if (r.busy === 0 && r.checkpointed === r.log) {
          Atomics.add(stats, S.REWINDS, 1); // the next commit rewinds the WAL
        }
      }
      caughtUp = r.checkpointed === r.log;
      versionAtPass = version;
      lastPass = Date.now();
    }
    const bytes = Atomics.load(stats, S.BYTES);
    const fast = ((bytes - bytesAtTick) | 0) >= FAST_TICK_BYTES;
    bytesAtTick = bytes;
    // Idle: sleep until the next append. At a trickle, look every 100 ms (data_version is cheap);
    // while bytes arrive fast, every tickMs, so the WAL grows past the bound by at most a tick's
    // worth of the writer's speed.
    if (!wrote && caughtUp && !mustStat) {
      waitForWrite(bytes);
      return;
    }
    timer = setTimeout(
      tick,
      fast || mustStat ? workerData.tickMs : Math.max(workerData.tickMs, Math.min(workerData.intervalMs, IDLE_TICK_MS)),
    );
  };
  /**
   * Nothing committed since the last tick and nothing left to copy: sleep until the publish
   * connection counts a write (afterWrite notifies, after its commit) instead of waking on a timer.
   * An idle collector then costs this thread nothing; a timer of 100 ms cost about 5 ms of CPU per
   * second here, thread wake and isolate upkeep. The timeout (intervalMs) catches commits that are
   * not appends (retention, a new channel), which afterWrite does not count.
   */
  const waitForWrite = (bytes: number): void => {
    const w = (Atomics as unknown as WaitAsync).waitAsync(stats, S.BYTES, bytes, workerData.intervalMs);
    if (w.async) {
      void w.value.then(() => {
        if (!stopped) {
          tick();
        }
      });
    } else {
      timer = setTimeout(tick, 0); // a write came in meanwhile
    }
  };
  let stopped = false;
  parentPort.on('message', (m: string) => {
    if (m === 'stop') {
      stopped = true;
      clearTimeout(timer);
      db.close();
      parentPort.close();
    }
  });
  tick();
  parentPort.postMessage('ready');
}

export function startWalCheckpointer(o: WalCheckpointerOptions): WalCheckpointer {
  const statsSab = new SharedArrayBuffer(4 * Object.keys(SLOT).length);
  const busyTimeoutMs = o.busyTimeoutMs ?? WAL_CHECKPOINT_DEFAULTS.busyTimeoutMs;
  const stats = new Int32Array(statsSab);
  const worker = new Worker(`(${workerMain.toString()})()`, {
    eval: true,
    workerData: {
      path: o.path,
      // Resolved here: code run with eval resolves modules from the working directory.
      betterSqlite3: require.resolve('better-sqlite3'),
      intervalMs: o.intervalMs ?? WAL_CHECKPOINT_DEFAULTS.intervalMs,
      passBytes: o.passBytes ?? WAL_CHECKPOINT_DEFAULTS.passBytes,
      tickMs: o.tickMs ?? WAL_CHECKPOINT_DEFAULTS.tickMs,
      rewindFrames: o.rewindFrames ?? WAL_CHECKPOINT_DEFAULTS.rewindFrames,
      maxWalBytes: o.maxWalBytes ?? WAL_CHECKPOINT_DEFAULTS.maxWalBytes,
      busyTimeoutMs,
      statsSab,
      slots: SLOT,
    },
  });
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const ready = Promise.race([new Promise<void>((resolve) => worker.once('message', () => resolve())), exited]);
  let failure: Error | undefined;
  worker.on('error', (err) => {
    failure = err;
  });
  void exited.then(() => {
    Atomics.store(stats, SLOT.HOLD, 0); // never leave writers waiting on a worker that is gone
    if (!stopping) {
      o.onFailure?.(failure ?? new Error('WAL checkpoint worker exited'));
    }
  });
  // Once running, the worker must never keep the process alive on its own (stop() is the way out);
  // until then it must, or a process awaiting `ready` with nothing else to do would just exit.
  void ready.then(() => worker.unref());
  return {
    ready,
    stats: () => ({
      walFrames: Atomics.load(stats, SLOT.WAL_FRAMES),
      truncates: Atomics.load(stats, SLOT.TRUNCATES),
      passes: Atomics.load(stats, SLOT.PASSES),
      rewinds: Atomics.load(stats, SLOT.REWINDS),
      maxHoldUs: Atomics.load(stats, SLOT.MAX_HOLD_US),
      sizeChecks: Atomics.load(stats, SLOT.SIZE_CHECKS),
      ticks: Atomics.load(stats, SLOT.TICKS),
    }),
    beforeWrite() {
      if (Atomics.load(stats, SLOT.HOLD) === 1) {
        Atomics.wait(stats, SLOT.HOLD, 1, busyTimeoutMs);
      }
    },
    afterWrite(bytes) {
      Atomics.add(stats, SLOT.BYTES, bytes | 0);
      // Wakes the worker if it sleeps in waitForWrite (cheap when it does not: no waiter, no syscall).
      Atomics.notify(stats, SLOT.BYTES);
    },
    async stop() {
      if (stopping) {
        return exited;
      }
      stopping = true;
      worker.postMessage('stop');
      Atomics.notify(stats, SLOT.BYTES); // out of waitForWrite, so the stop message is read at once
      const t = setTimeout(() => void worker.terminate(), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
