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

describe('WAL checkpoint worker (SqliteLog in this process)', () => {
  test('behavior: the WAL stays bounded while commits never pause, and every append is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-wal-'));
    const path = join(dir, 'wal.db');
    // A low bound so that a short test crosses it many times.
    const log = new SqliteLog({ path, checkpoint: { intervalMs: 20, tickMs: 5, maxWalBytes: 1024 * 1024 } });
    try {
      await log.open();
      // The worker's first pass: from here on it runs beside the writes.
      while (log.walStats()!.passes === 0) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const N = 12_000;
      let maxWal = 0;
      const data = JSON.stringify({ pad: 'x'.repeat(200) });
      for (let i = 0; i < N; i++) {
        // One small transaction after another, no pause: a PASSIVE checkpoint alone would never
        // find a moment to rewind the WAL.
        await log.append([{ channel: 'wal/test', ts: Date.now(), data }]);
        if (i % 50 === 0) {
          maxWal = Math.max(maxWal, statSync(`${path}-wal`).size);
        }
      }
      // Unbounded, the WAL would hold every committed page: at least one 4 KB page per commit
      // (in fact three or four). Bounded, it holds the bound plus what one checkpoint pass lets
      // through, however many commits there were.
      const unbounded = N * 4096;
      expect(log.walStats()!.truncates).toBeGreaterThan(0);
      expect(maxWal).toBeLessThan(unbounded / 2);
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
});
