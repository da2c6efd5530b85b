/**
 * InOrder (collector/src/telemetry/in-order.ts): keyed telemetry applies each message once, in
 * offset order, whatever order the appends and other instances' notices arrive in.
 */
import fc from 'fast-check';
import { InOrder } from '../../src/telemetry/in-order';
import { type StoredMessage, storedMessage } from '../../src/log/event-log';

const msg = (offset: number): StoredMessage => storedMessage('t/e', offset, offset, '{}', `k${offset}`);

function harness(applied: number, log: StoredMessage[]) {
  const seen: number[] = [];
  let reads = 0;
  const q = new InOrder({
    applied,
    read: async (after) => {
      reads++;
      return log.filter((m) => m.offset > after).slice(0, 3);
    },
    apply: (m) => seen.push(m.offset),
    onError: (err) => {
      throw err;
    },
  });
  return { q, seen, reads: () => reads };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('InOrder', () => {
  test('behavior: messages in order are applied at once, with no read', () => {
    const log = [1, 2, 3].map(msg);
    const h = harness(0, log);
    h.q.push(log);
    expect(h.seen).toEqual([1, 2, 3]);
    expect(h.reads()).toBe(0);
  });

  test('behavior: a message past a gap waits while the gap is read from the log; the late one is not applied twice', async () => {
    const log = [1, 2, 3, 4].map(msg);
    const h = harness(0, log);
    h.q.push([msg(1)]);
    h.q.push([msg(3), msg(4)]);
    expect(h.seen).toEqual([1]);
    while (h.seen.length < 4) {
      await settle();
    }
    h.q.push([msg(2)]);
    expect(h.seen).toEqual([1, 2, 3, 4]);
  });

  test('behavior: offsets at or below the snapshot are ignored', () => {
    const h = harness(5, []);
    h.q.push([msg(4), msg(5), msg(6)]);
    expect(h.seen).toEqual([6]);
  });

  test('behavior: a gap the log no longer holds (retention) is skipped', async () => {
    const h = harness(0, [msg(7), msg(8)]);
    h.q.push([msg(8)]);
    while (h.seen.length < 2) {
      await settle();
    }
    expect(h.seen).toEqual([7, 8]);
  });

  test('property: any arrival order yields each offset once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(
          [...Array(30).keys()].map((i) => i + 1),
          { minLength: 30 },
        ),
        async (order) => {
          const log = order.map(msg).sort((a, b) => a.offset - b.offset);
          const h = harness(0, log);
          for (const o of order) {
            h.q.push([msg(o)]);
          }
          for (let i = 0; i < 200 && h.seen.length < 30; i++) {
            await settle();
          }
          expect(h.seen).toEqual(log.map((m) => m.offset));
        },
      ),
      { numRuns: 100 },
    );
  });
});
