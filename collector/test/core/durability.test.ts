/**
 * Durability of the SQLite log with the WAL checkpoint off the publish path
 * (collector/src/log/wal-checkpointer.ts): an acknowledged publish survives SIGKILL of the
 * collector, and the WAL stays bounded under writes that never pause.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLog } from '../../src/log/sqlite-log';
import { type CollectorProcess, startCollector } from '../helpers/collector-process';

const CHANNEL = 'durability/kill';

interface Acked {
  offset: number;
  data: { w: number; i: number };
}

async function readAll(sg: CollectorProcess, channel: string): Promise<{ epoch: string; messages: { offset: number; data: unknown }[] }> {
  const messages: { offset: number; data: unknown }[] = [];
  let after = 0;
  let epoch = '';
  for (;;) {
    const r = await (await fetch(`${sg.url}/api/v1/messages?channel=${channel}&after=${after}&limit=10000`)).json();
    epoch = r.epoch;
    messages.push(...r.messages);
    if (!r.more || r.messages.length === 0) {
      return { epoch, messages };
    }
    after = r.messages[r.messages.length - 1].offset;
  }
}

describe('durability (real collector, SIGKILL)', () => {
  let sg: CollectorProcess | undefined;
  afterAll(async () => {
    if (sg) {
      await sg.stop('SIGKILL');
      sg.cleanup();
    }
  });

  test('behavior: every acknowledged message is in the history after SIGKILL during a high publish rate', async () => {
    const config = {
      retention: { maxMessages: 10_000_000, checkIntervalMs: 600_000 },
      auth: { limits: { publishRequestsPerSecond: 0 } },
    };
    sg = await startCollector({ config });
    const first = sg;
    const acked: Acked[] = [];
    let epoch = '';
    let killed = false;
    let inFlightAtKill = 0;
    let inFlight = 0;
    const KILL_AFTER = 20_000; // acknowledged messages before the kill
    // 8 publishers with one request each in flight, 20 messages per request: a high rate with
    // requests always in flight when the kill comes.
    const publisher = async (w: number): Promise<void> => {
      for (let i = 0; !killed; i += 20) {
        const messages = Array.from({ length: 20 }, (_, j) => ({ channel: CHANNEL, data: { w, i: i + j } }));
        inFlight++;
        let res: Response;
        try {
          res = await fetch(`${first.url}/api/v1/publish`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ messages }),
          });
        } catch {
          return; // the collector is gone: this request was never acknowledged
        } finally {
          inFlight--;
        }
        if (res.status !== 200) {
          return;
        }
        let body: { offsets: { epoch: string; offset: number }[] };
        try {
          body = await res.json();
        } catch {
          return; // cut off mid-body: not an acknowledgement we can count
        }
        body.offsets.forEach((o, j) => {
          epoch = o.epoch;
          acked.push({ offset: o.offset, data: messages[j].data });
        });
        if (!killed && acked.length >= KILL_AFTER) {
          killed = true;
          inFlightAtKill = inFlight;
          first.proc.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => publisher(w)));
    await first.stop('SIGKILL'); // resolves once it exited
    expect(killed).toBe(true);
    expect(inFlightAtKill).toBeGreaterThan(0); // the kill really hit a publish in progress

    sg = await startCollector({ config, dataDir: first.dataDir, port: first.port });
    const h = await readAll(sg, CHANNEL);
    expect(h.epoch).toBe(epoch);
    const byOffset = new Map(h.messages.map((m) => [m.offset, m.data]));
    const missing = acked.filter((a) => byOffset.get(a.offset) === undefined);
    const different = acked.filter((a) => byOffset.has(a.offset) && JSON.stringify(byOffset.get(a.offset)) !== JSON.stringify(a.data));
    expect(missing.length).toBe(0);
    expect(different.length).toBe(0);
    // No holes either: offsets 1..last, one each.
    expect(h.messages.map((m) => m.offset)).toEqual(Array.from({ length: h.messages.length }, (_, k) => k + 1));
    expect(h.messages.length).toBeGreaterThanOrEqual(acked.length);
  }, 120_000);
});

/** Appends one message and waits for the checkpoint pass that follows it; false if none came by `deadline`. */
async function appendThenPass(log: SqliteLog, channel: string, deadline: number): Promise<boolean> {
  const passes = log.walStats()!.passes;
  await log.append([{ channel, ts: Date.now(), data: '{"x":2}' }]);
  while (log.walStats()!.passes === passes && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return log.walStats()!.passes > passes;
}

describe('WAL checkpoint worker (SqliteLog in this process)', () => {
  test('behavior: the WAL stays bounded while commits never pause, and every append is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-wal-'));
    const path = join(dir, 'wal.db');
    // A low bound so that a short test crosses it many times.
    const log = new SqliteLog({ path, checkpoint: { intervalMs: 20, tickMs: 5, maxWalBytes: 1024 * 1024 } });
    try {
      await log.open(); // resolves once the worker runs beside the writes
      let maxWal = 0;
      let written = 0; // growth of the WAL file summed over samples: a lower bound of what was committed
      let last = 0;
      const data = JSON.stringify({ pad: 'x'.repeat(200) });
      let N = 0;
      // One small transaction after another, no pause (a PASSIVE checkpoint alone would never find
      // a moment to rewind the WAL), until the bound has been enforced several times and far more
      // has gone through the WAL than it may hold. How far the WAL overshoots the bound depends on
      // how much faster the writer is than the disk and the worker's looks (a CI disk let it reach
      // 4.7 MB over a 1 MB bound; a fast host, whose one-row commits wrote 12 KB of WAL pages each
      // at some 400 MB/s, 16-17 MB), so the test writes 256 bounds' worth: unbounded, the WAL would
      // reach all of it. The count cap only bounds a hang.
      const MB = 1024 * 1024;
      while ((log.walStats()!.truncates < 5 || written < 256 * MB) && N < 1_000_000) {
        await log.append([{ channel: 'wal/test', ts: Date.now(), data }]);
        N++;
        if (N % 50 === 0) {
          const size = statSync(`${path}-wal`).size;
          written += Math.max(0, size - last);
          last = size;
          maxWal = Math.max(maxWal, size);
        }
      }
      expect(log.walStats()!.truncates).toBeGreaterThanOrEqual(5);
      // Unbounded, the WAL's largest size would be everything written; bounded, it is the bound
      // plus what the writer commits during one checkpoint pass, however much was written.
      expect(written).toBeGreaterThanOrEqual(256 * MB);
      expect(maxWal).toBeLessThan(written / 4);
      const meta = log.meta('wal/test')!;
      expect(meta.lastOffset).toBe(N);
      expect(meta.count).toBe(N);
      const r = await log.read('wal/test', { after: N - 1, limit: 10 });
      expect(r.messages.map((m) => m.offset)).toEqual([N]);
    } finally {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('behavior: at a steady rate the WAL rewinds after a short hold instead of growing to the bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-wal-'));
    const path = join(dir, 'wal.db');
    const log = new SqliteLog({ path, checkpoint: { intervalMs: 20, rewindFrames: 100, maxWalBytes: 64 * 1024 * 1024 } });
    try {
      await log.open();
      const data = JSON.stringify({ pad: 'x'.repeat(200) });
      // Paced commits (one per timer turn) until the worker has rewound the WAL a few times.
      let n = 0;
      while (log.walStats()!.rewinds < 10) {
        await log.append([{ channel: 'wal/steady', ts: Date.now(), data }]);
        n++;
        await new Promise((r) => setTimeout(r, 1));
      }
      expect(log.walStats()!.truncates).toBe(0);
      // Rewound, the file is reused from its start: it stays near rewindFrames pages, below what n
      // commits take unbounded (at least one 4 KB page each; in fact three or four).
      expect(statSync(`${path}-wal`).size).toBeLessThan(n * 4096);
      expect(log.meta('wal/steady')!.lastOffset).toBe(n);
    } finally {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('behavior: a checkpoint pass runs once passBytes have been appended, without waiting for intervalMs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-wal-'));
    const path = join(dir, 'wal.db');
    // intervalMs of a minute: within this test a pass can only come from the bytes appended.
    const log = new SqliteLog({ path, checkpoint: { intervalMs: 60_000, tickMs: 5, passBytes: 64 * 1024 } });
    try {
      await log.open();
      const deadline = Date.now() + 30_000; // bounds a hang only
      // The worker's first pass (at start) may still be running: wait until it is counted.
      while (log.walStats()!.passes === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const data = JSON.stringify({ pad: 'x'.repeat(1_000) });
      // Three times: append more than passBytes (about 128 KB), then wait for the pass it calls for.
      for (let round = 0; round < 3; round++) {
        const before = log.walStats()!.passes;
        for (let i = 0; i < 8; i++) {
          await log.append(Array.from({ length: 16 }, () => ({ channel: 'wal/bytes', ts: Date.now(), data })));
        }
        while (log.walStats()!.passes === before && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 5));
        }
        expect(log.walStats()!.passes).toBeGreaterThan(before);
      }
      expect(log.meta('wal/bytes')!.lastOffset).toBe(3 * 8 * 16);
    } finally {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('behavior: with nothing written the worker goes quiet: once caught up it runs no more checkpoint passes and no size checks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-wal-'));
    const path = join(dir, 'wal.db');
    const log = new SqliteLog({ path, checkpoint: { intervalMs: 20, tickMs: 5 } });
    try {
      await log.open();
      for (let i = 0; i < 20; i++) {
        await log.append([{ channel: 'wal/idle', ts: Date.now(), data: '{"x":1}' }]);
      }
      // A worker that checkpoints on a timer regardless runs a pass every intervalMs forever, so
      // this loop would reach its deadline; one that sees no commit (data_version) stops passing.
      // Waiting for the quiet state, 10 intervals apart, with a deadline that only bounds a hang.
      const deadline = Date.now() + 30_000;
      let quiet = false;
      while (!quiet && Date.now() < deadline) {
        const before = log.walStats()!;
        await new Promise((r) => setTimeout(r, 200));
        const after = log.walStats()!;
        // Both: a worker that stats the WAL on every tick with nothing committed (a flag never
        // cleared did that, ~18 ms of CPU per second on an idle collector) is not quiet.
        quiet = after.passes === before.passes && after.sizeChecks === before.sizeChecks;
      }
      expect(quiet).toBe(true);
      // And it wakes up again: a new commit is checkpointed.
      expect(await appendThenPass(log, 'wal/idle', deadline + 30_000)).toBe(true);
      expect(log.meta('wal/idle')!.lastOffset).toBe(21);
    } finally {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('behavior: an idle worker sleeps until the next append wakes it (no timer ticks), then checkpoints it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-wal-'));
    const path = join(dir, 'wal.db');
    // intervalMs is also how long an idle worker sleeps at most: far longer than this test waits.
    const log = new SqliteLog({ path, checkpoint: { intervalMs: 120_000, passBytes: 1, tickMs: 5 } });
    try {
      await log.open();
      await log.append([{ channel: 'wal/sleep', ts: Date.now(), data: '{"x":1}' }]);
      // Asleep: a worker on a timer (it used to wake every 100 ms when idle) keeps counting ticks.
      const deadline = Date.now() + 30_000;
      let asleep = false;
      while (!asleep && Date.now() < deadline) {
        const before = log.walStats()!.ticks;
        await new Promise((r) => setTimeout(r, 300));
        asleep = log.walStats()!.ticks === before;
      }
      expect(asleep).toBe(true);
      // Woken by the append itself, not by its 120 s timeout: the pass comes well within the deadline.
      expect(await appendThenPass(log, 'wal/sleep', deadline + 30_000)).toBe(true);
    } finally {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
