/**
 * When a publish is answered (docs/protocol.md, "Publishing"): only once the log holds the batch AND
 * this instance's live subscribers have been written it. In process, with the real hub and SQLite
 * log; the subscriber is a recording target (what a session is to the hub), so that "written by
 * the time publish resolves" can be checked synchronously, which no pair of sockets could show.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerFrame } from '@streamgauge/protocol';
import { ChannelRegistry } from '../../src/channels/channel-registry';
import { Hub } from '../../src/hub/hub';
import type { CursorTarget } from '../../src/hub/cursor';
import { SqliteLog } from '../../src/log/sqlite-log';
import { createLogger } from '../../src/logger';
import { createCoreMetrics } from '../../src/metrics/core-metrics';

class RecordingTarget implements CursorTarget {
  readonly transport = 'ws' as const;
  readonly maxQueueBytes = 1024 * 1024;
  closed = false;
  readonly offsets: number[] = [];
  deliver(frame: string): boolean {
    for (const m of (JSON.parse(frame) as { messages: { offset: number }[] }).messages) {
      this.offsets.push(m.offset);
    }
    return true;
  }
  control(_frame: ServerFrame): void {}
  queuedBytes(): number {
    return 0;
  }
  storeDown(): void {}
  fail(): void {
    this.closed = true;
  }
}

describe('the publish answer (in process, real hub and SQLite log)', () => {
  let dir: string;
  let log: SqliteLog;
  let hub: Hub;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-answer-'));
    log = new SqliteLog({ path: join(dir, 'answer.db') });
    await log.open();
    const registry = new ChannelRegistry({ maxMessages: 1_000, maxAgeSeconds: 0 }, 50, log);
    hub = new Hub({
      log,
      registry,
      metrics: createCoreMetrics(),
      logger: createLogger('silent'),
      autoCreate: true,
      maxChannels: 100,
      maxMessageBytes: 65_536,
      maxBatch: 1_000,
      maxInferredFields: 50,
      replayPageSize: 1_000,
    });
  });

  afterAll(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('behavior: publish resolves only after its messages were written to every live subscriber', async () => {
    await hub.publish([{ channel: 'answer/a', data: { n: 0 } }]);
    const targets = [new RecordingTarget(), new RecordingTarget()];
    for (const t of targets) {
      const cursor = hub.cursors.openCursor(t, 'answer/a', undefined, undefined);
      await hub.cursors.start(cursor, hub.registry.get('answer/a')!, undefined);
    }
    for (let i = 1; i <= 5; i++) {
      // Several publishes in one turn share one flush; each still waits for it.
      const answers = await Promise.all([
        hub.publish([{ channel: 'answer/a', data: { n: i } }]),
        hub.publish([{ channel: 'answer/a', data: { n: -i } }]),
      ]);
      const last = Math.max(...answers.flat().map((r) => r.offset));
      for (const t of targets) {
        // Checked at once, before any other turn of the event loop: the answer came after the write.
        expect(t.offsets[t.offsets.length - 1]).toBe(last);
      }
    }
    expect(targets[0].offsets).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  test('behavior: with no subscriber, or nothing to deliver (a retried publish id), publish still answers', async () => {
    const first = await hub.publish([{ channel: 'answer/b', id: 'x-1', data: { n: 1 } }]);
    const again = await hub.publish([{ channel: 'answer/b', id: 'x-1', data: { n: 1 } }]);
    expect(again[0]).toMatchObject({ offset: first[0].offset, duplicate: true });
  });
});
