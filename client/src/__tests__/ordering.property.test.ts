/**
 * Property: whatever the interleaving of live frames, REST pages (answered late, out of step with
 * the socket), reconnects, retention evictions and epoch resets, every listener gets each offset
 * once and in order within an epoch, with gaps only where it was told (onReset), and ends up at the
 * collector's last offset.
 */
import fc from 'fast-check';
import { ProtocolClient } from '../protocol-client';
import { FakeClock, FakeCollector, ScriptedSocket } from './fakes';

type Op =
  | { op: 'publish'; n: number }
  | { op: 'advance'; ms: number }
  | { op: 'drop' }
  | { op: 'epoch' }
  | { op: 'evict'; n: number }
  | { op: 'join'; back: number; stale: boolean }
  | { op: 'leave'; which: number }
  | { op: 'restDelay'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('publish' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 400 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('drop' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('epoch' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('evict' as const), n: fc.integer({ min: 1, max: 6 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('join' as const), back: fc.integer({ min: 0, max: 12 }), stale: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('leave' as const), which: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('restDelay' as const), ms: fc.integer({ min: 0, max: 150 }) }) },
);

type Event = { kind: 'msg'; epoch: string; offset: number } | { kind: 'reset' };

interface Watched {
  events: Event[];
  stop: () => void;
  active: boolean;
}

function check(events: Event[]): string | undefined {
  let epoch: string | undefined;
  let last = 0;
  let afterReset = true;
  const seen = new Map<string, number>();
  for (const e of events) {
    if (e.kind === 'reset') {
      afterReset = true;
      continue;
    }
    const prev = seen.get(e.epoch) ?? 0;
    if (e.offset <= prev) {
      return `offset ${e.offset} of ${e.epoch} after ${prev}: duplicate or out of order`;
    }
    if (!afterReset && e.epoch === epoch && e.offset !== last + 1) {
      return `gap: ${last} then ${e.offset} in ${e.epoch} without a reset`;
    }
    if (!afterReset && epoch !== undefined && e.epoch !== epoch) {
      return `epoch changed ${epoch} -> ${e.epoch} without a reset`;
    }
    seen.set(e.epoch, e.offset);
    epoch = e.epoch;
    last = e.offset;
    afterReset = false;
  }
  return undefined;
}

test('property: any interleaving of live frames, REST pages, reconnects and resets yields each offset once, in order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), async (ops) => {
      ScriptedSocket.reset();
      const clock = new FakeClock();
      const sg = new FakeCollector(clock, ['p/x']);
      let delay = 0;
      sg.restDelay = () => delay;
      const c = new ProtocolClient({
        wsUrl: 'ws://c/ws',
        WebSocket: ScriptedSocket,
        rest: sg.rest,
        clock,
        random: () => 0.5,
        minReconnectDelayMs: 20,
        maxReconnectDelayMs: 200,
        pageSize: 3,
        idleCloseMs: 100,
      });
      const watched: Watched[] = [];
      const join = (from?: { epoch: string; offset: number }) => {
        const w: Watched = { events: [], stop: () => undefined, active: true };
        w.stop = c.subscribe('p/x', from, {
          onMessages: (items, epoch) => {
            for (const m of items) {
              w.events.push({ kind: 'msg', epoch, offset: m.offset });
            }
          },
          // Refill as the plugin does: start again at the oldest message kept.
          onReset: async (info) => {
            w.events.push({ kind: 'reset' });
            return { epoch: info.epoch, offset: info.firstOffset - 1 };
          },
        });
        watched.push(w);
      };
      // The first listener starts at the beginning; live-only listeners miss what precedes them by design.
      join({ epoch: sg.logs.get('p/x')!.epoch, offset: 0 });
      try {
        for (const o of ops) {
          switch (o.op) {
            case 'publish':
              sg.publish('p/x', o.n);
              break;
            case 'advance':
              await clock.advance(o.ms);
              break;
            case 'drop':
              sg.dropAll(1001);
              break;
            case 'epoch':
              sg.newEpoch('p/x');
              break;
            case 'evict':
              sg.evict('p/x', o.n);
              break;
            case 'join': {
              const log = sg.logs.get('p/x')!;
              const last = sg.lastOffset('p/x');
              join({ epoch: o.stale ? 'gone' : log.epoch, offset: Math.max(0, last - o.back) });
              break;
            }
            case 'leave': {
              const live = watched.filter((w) => w.active);
              if (live.length > 1) {
                const w = live[o.which % live.length];
                w.active = false;
                w.stop();
              }
              break;
            }
            case 'restDelay':
              delay = o.ms;
              break;
          }
        }
        // Quiesce: one more message, then time for every fill and reconnect to finish.
        delay = 0;
        sg.publish('p/x', 1);
        await clock.advance(5_000);
        const log = sg.logs.get('p/x')!;
        for (const w of watched.filter((x) => x.active)) {
          const problem = check(w.events);
          if (problem) {
            throw new Error(problem);
          }
          const lastMsg = [...w.events].reverse().find((e) => e.kind === 'msg') as Extract<Event, { kind: 'msg' }> | undefined;
          expect(lastMsg).toEqual({ kind: 'msg', epoch: log.epoch, offset: sg.lastOffset('p/x') });
        }
        for (const w of watched.filter((x) => !x.active)) {
          const problem = check(w.events);
          if (problem) {
            throw new Error(problem);
          }
        }
      } finally {
        c.close();
      }
    }),
    { numRuns: 300 },
  );
});
