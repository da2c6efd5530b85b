/** The reorg tracker's window (a small pure piece, so a unit test). */
import { ReorgTracker, type TrackedBlock } from '../../src/sources/evm/reorg-tracker';

function block(number: number, branch = 'a'): TrackedBlock {
  return { number, hash: `${branch}${number}`, parentHash: number === 0 ? '0x0' : `${branch}${number - 1}`, timestamp: number * 12 };
}

test('behavior: keeps the tip and `confirmations` blocks below it; older blocks are final and leave the window', () => {
  const t = new ReorgTracker(3);
  for (let i = 0; i < 10; i++) {
    t.push(block(i));
  }
  expect(t.capacity).toBe(4);
  expect(t.oldest()?.number).toBe(6);
  expect(t.tip()?.number).toBe(9);
  expect(t.at(7)?.hash).toBe('a7');
  expect(t.at(5)).toBeUndefined();
});

test('behavior: refuses a block that does not extend the tip', () => {
  const t = new ReorgTracker(3);
  t.push(block(0));
  expect(() => t.push(block(1, 'b'))).toThrow('block 1 b1 does not extend tip 0 a0');
  expect(() => t.push(block(2))).toThrow('block 2 a2 does not extend tip 0 a0');
});

test('behavior: truncateAfter returns the orphaned blocks, oldest first', () => {
  const t = new ReorgTracker(12);
  for (let i = 0; i < 6; i++) {
    t.push(block(i));
  }
  expect(t.truncateAfter(3).map((b) => b.number)).toEqual([4, 5]);
  expect(t.tip()?.number).toBe(3);
  expect(t.extendsTip(block(4, 'b'))).toBe(false);
  expect(t.extendsTip({ number: 4, parentHash: 'a3' })).toBe(true);
});

test('behavior: restore replays published blocks, a repeated number replacing what the window held from there on', () => {
  const t = new ReorgTracker(12);
  for (const b of [block(0), block(1), block(2), block(3), { ...block(2, 'b'), parentHash: 'a1' }, block(3, 'b')]) {
    t.restore(b);
  }
  expect([0, 1, 2, 3].map((n) => t.at(n)?.hash)).toEqual(['a0', 'a1', 'b2', 'b3']);
});

test('behavior: confirmations 0 still keeps the parent of the tip, to link the next block', () => {
  const t = new ReorgTracker(0);
  t.push(block(0));
  t.push(block(1));
  t.push(block(2));
  expect(t.size).toBe(2);
  expect(t.oldest()?.number).toBe(1);
});
