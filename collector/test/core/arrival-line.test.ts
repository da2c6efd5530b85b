/**
 * Unit test of one connection's arrival line (collector/src/http/arrival-order.ts); the behaviour
 * against a real collector is in publish-order.test.ts.
 */
import { ArrivalLine } from '../../src/http/arrival-order';

/** Records the order in which waiting tickets get their turn. */
async function goes(
  line: ArrivalLine,
  n: number,
): Promise<{ turns: ReturnType<ArrivalLine['take']>[]; order: number[]; waits: Promise<void>[] }> {
  const turns = Array.from({ length: n }, () => line.take());
  const order: number[] = [];
  const waits = turns.map(async (t, i) => {
    const w = t.wait();
    if (w) {
      await w;
    }
    order.push(i);
  });
  await Promise.resolve();
  return { turns, order, waits };
}

describe('arrival line of one connection', () => {
  test('behavior: the first ticket goes at once, each later one when every earlier one is released', async () => {
    const line = new ArrivalLine();
    const { turns, order, waits } = await goes(line, 3);
    expect(order).toEqual([0]);
    turns[0].release();
    await waits[1];
    expect(order).toEqual([0, 1]);
    turns[1].release();
    await waits[2];
    expect(order).toEqual([0, 1, 2]);
    turns[2].release();
    expect(line.size).toBe(0);
  });

  test('behavior: a ticket released early (its request aborted) neither lets later ones overtake nor strands its own waiter', async () => {
    const line = new ArrivalLine();
    const { turns, order, waits } = await goes(line, 4);
    turns[2].release(); // aborted while waiting behind 0 and 1
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([0]);
    turns[0].release();
    await waits[1];
    expect(order).toEqual([0, 1]);
    turns[1].release(); // 2 is released already: 2, then 3 go
    await Promise.all(waits);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(line.size).toBe(1);
    turns[3].release();
    expect(line.size).toBe(0);
  });

  test('behavior: when the connection closes every waiting ticket goes, in arrival order', async () => {
    const line = new ArrivalLine();
    const { order, waits } = await goes(line, 3);
    line.releaseAll();
    await Promise.all(waits);
    expect(order).toEqual([0, 1, 2]);
    expect(line.size).toBe(0);
  });

  test('behavior: a released ticket that had not waited yet does not wait later', async () => {
    const line = new ArrivalLine();
    const a = line.take();
    const b = line.take();
    b.release();
    a.release();
    expect(b.wait()).toBeUndefined();
    expect(line.size).toBe(0);
  });
});
