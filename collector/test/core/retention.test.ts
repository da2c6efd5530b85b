/**
 * Retention: count and age bounds per channel, applied on the write path and by the timer, with
 * offsets and epochs continuing after a restart.
 */
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { waitUntil } from '../helpers/deadlines';

async function info(sg: CollectorProcess, channel: string): Promise<any> {
  return (await fetch(`${sg.url}/api/v1/channels/${channel}`)).json();
}

describe('retention (real collector)', () => {
  let sg: CollectorProcess;
  beforeAll(async () => {
    sg = await startCollector({
      config: {
        // The timer is effectively off: only the write-path trim can bound the count.
        retention: { checkIntervalMs: 600_000 },
        channels: {
          definitions: [
            { name: 'ret/count', retention: { maxMessages: 100 } },
            { name: 'ret/age', retention: { maxAgeSeconds: 1 } },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await sg.stop();
    sg.cleanup();
  });

  test('behavior: a channel past its count bound is trimmed on the write path, oldest first', async () => {
    for (let i = 0; i < 10; i++) {
      const messages = Array.from({ length: 50 }, (_, j) => ({ channel: 'ret/count', data: { i: i * 50 + j } }));
      expect((await publish(sg.url, { messages })).status).toBe(200);
    }
    // The write-path trim runs right after the append that passed the bound (setImmediate): wait
    // for its result rather than for a time. The timer (10 min) cannot be what trims here.
    const c = await waitUntil('ret/count trimmed to its bound (100, +10 % + 10 slack)', async () => {
      const meta = await info(sg, 'ret/count');
      return meta.count <= 120 ? meta : undefined;
    });
    expect(c.lastOffset).toBe(500);
    expect(c.firstOffset).toBe(c.lastOffset - c.count + 1);
    const h = await (await fetch(`${sg.url}/api/v1/messages?channel=ret/count&limit=1`)).json();
    expect(h.messages[0].offset).toBe(c.firstOffset);
    const metrics = await (await fetch(`${sg.url}/metrics`)).text();
    expect(metrics).toMatch(/streamgauge_log_evictions_total\{namespace="ret"\} [1-9]\d*/);
  });

  test('behavior: after a restart the age bound evicts old messages and offsets continue', async () => {
    await publish(sg.url, { channel: 'ret/age', data: { i: 1 } });
    await publish(sg.url, { channel: 'ret/age', data: { i: 2 } });
    const before = await info(sg, 'ret/age');
    // The messages must be older than the age bound (1 s) when the restarted collector checks:
    // wait until the newest one is, by the clock the collector stamps with.
    await waitUntil('ret/age older than its 1 s bound', () => Date.now() > before.lastTs + 1_050);
    // Retention runs once at start.
    sg = await sg.restart();
    const after = await info(sg, 'ret/age');
    expect(after.epoch).toBe(before.epoch);
    expect(after.count).toBe(0);
    expect(after.firstOffset).toBe(3);
    const r = await publish(sg.url, { channel: 'ret/age', data: { i: 3 } });
    expect(r.body.offsets[0]).toEqual({ channel: 'ret/age', epoch: before.epoch, offset: 3 });
  });
});
