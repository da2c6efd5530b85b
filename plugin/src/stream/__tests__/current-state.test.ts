/**
 * @jest-environment node
 */
import type { ChannelSchema, MessageItem } from '@streamgauge/protocol';
import { CurrentStateBuilder } from '../current-state';

const STATE: ChannelSchema = {
  fields: [
    { name: 'component', type: 'string' },
    { name: 'status', type: 'string' },
    { name: 'n', type: 'number' },
  ],
  keyField: 'component',
  declared: true,
};
const ENTITY: ChannelSchema = {
  fields: [
    { name: 'id', type: 'string' },
    { name: 'country', type: 'string' },
    { name: 'bitrate_bps', type: 'number', unit: 'bps' },
  ],
  keyField: 'id',
  declared: true,
};

const upsert = (
  offset: number,
  data: Record<string, unknown>,
  key = String(data.component ?? data.id)
): MessageItem => ({ offset, ts: 1_000 + offset, key, data });
const del = (offset: number, key: string, reason = 'closed'): MessageItem => ({
  offset,
  ts: 1_000 + offset,
  key,
  deleted: true,
  data: { reason },
});

function rows(b: CurrentStateBuilder): Array<Record<string, unknown>> {
  const f = b.frame();
  return Array.from({ length: f.length }, (_, i) => Object.fromEntries(f.fields.map((x) => [x.name, x.values[i]])));
}

describe('current state (one row per key)', () => {
  test('behaviour: a state channel with 3 keys and 100 updates yields 3 rows with the latest values', () => {
    const b = new CurrentStateBuilder({ schema: STATE, kind: 'state' });
    b.reset([], 'e', 0);
    const keys = ['camera', 'cloud', 'sms'];
    const items = Array.from({ length: 100 }, (_, i) =>
      upsert(i + 1, { component: keys[i % 3], status: i % 2 ? 'online' : 'offline', n: i + 1 })
    );
    b.apply(items.slice(0, 40), 'e');
    b.apply(items.slice(40), 'e');
    expect(rows(b)).toEqual([
      { ts: 1_100, component: 'camera', status: 'online', n: 100 },
      { ts: 1_098, component: 'cloud', status: 'online', n: 98 },
      { ts: 1_099, component: 'sms', status: 'offline', n: 99 },
    ]);
    expect(b.frame().meta?.custom).toEqual({ epoch: 'e', lastOffset: 100, keys: 3, view: 'current' });
  });

  test('behaviour: an entity delete removes its row, and a TTL expiry (a delete with reason expired) too', () => {
    const b = new CurrentStateBuilder({ schema: ENTITY, kind: 'entity' });
    b.reset(
      [upsert(1, { id: 'c1', country: 'BR', bitrate_bps: 1 }), upsert(2, { id: 'c2', country: 'DE', bitrate_bps: 2 })],
      'e',
      2
    );
    b.apply([upsert(3, { id: 'c3', country: 'US', bitrate_bps: 3 }), del(4, 'c1')], 'e');
    expect(rows(b).map((r) => r.id)).toEqual(['c2', 'c3']);
    b.apply([del(5, 'c3', 'expired')], 'e');
    expect(rows(b).map((r) => r.id)).toEqual(['c2']);
  });

  test('behaviour: a rebuild after recovered:false yields exactly the new snapshot', () => {
    const b = new CurrentStateBuilder({ schema: ENTITY, kind: 'entity' });
    b.reset([upsert(1, { id: 'a' }), upsert(2, { id: 'b' })], 'e1', 2);
    b.apply([upsert(3, { id: 'c' })], 'e1');
    b.reset([upsert(7, { id: 'x', country: 'FR' })], 'e2', 9);
    expect(rows(b).map((r) => [r.id, r.country])).toEqual([['x', 'FR']]);
    expect(() => b.apply([upsert(10, { id: 'y' })], 'e1')).toThrow('epoch e1 differs from e2: rebuild from a snapshot');
    // Changes at or before the snapshot's position are the seam: skipped.
    b.apply([upsert(9, { id: 'z' }), upsert(10, { id: 'y' })], 'e2');
    expect(rows(b).map((r) => r.id)).toEqual(['x', 'y']);
  });

  test('behaviour: a snapshot newer than its position is not overwritten by the older changes replayed after it', () => {
    const b = new CurrentStateBuilder({ schema: STATE, kind: 'state' });
    // The snapshot was read after offset 5 was taken and holds offset 7 for cloud.
    b.reset([upsert(7, { component: 'cloud', status: 'online', n: 7 })], 'e', 5);
    b.apply(
      [
        upsert(6, { component: 'cloud', status: 'offline', n: 6 }),
        upsert(7, { component: 'cloud', status: 'online', n: 7 }),
      ],
      'e'
    );
    expect(rows(b).map((r) => r.status)).toEqual(['online']);
  });

  test('limits: keys beyond maxKeys are left out and a notice says how many', () => {
    const b = new CurrentStateBuilder({ schema: ENTITY, kind: 'entity', maxKeys: 2, name: 'iptv/connections' });
    b.reset([], 'e', 0);
    b.apply(
      [1, 2, 3, 4].map((i) => upsert(i, { id: `c${i}` })),
      'e'
    );
    expect(rows(b).map((r) => r.id)).toEqual(['c1', 'c2']);
    expect(b.frame().meta?.notices).toEqual([
      {
        severity: 'warning',
        text: 'Streamgauge: iptv/connections has more than 2 keys; 2 are not shown. Raise "Max keys" in the query (up to 100,000) or filter the keys.',
      },
    ]);
    // A key leaving frees its place for the next new one.
    b.apply([del(5, 'c1'), upsert(6, { id: 'c5' })], 'e');
    expect(rows(b).map((r) => r.id)).toEqual(['c2', 'c5']);
  });

  test('behaviour: a filter keeps only keys whose latest message matches', () => {
    const b = new CurrentStateBuilder({ schema: ENTITY, kind: 'entity', filter: 'country = BR' });
    b.reset([upsert(1, { id: 'a', country: 'BR' }), upsert(2, { id: 'b', country: 'DE' })], 'e', 2);
    b.apply([upsert(3, { id: 'a', country: 'AR' }), upsert(4, { id: 'b', country: 'BR' })], 'e');
    expect(rows(b).map((r) => r.id)).toEqual(['b']);
  });

  test('errors: maxKeys must be a positive integer', () => {
    expect(() => new CurrentStateBuilder({ schema: STATE, kind: 'state', maxKeys: 0 })).toThrow(
      'maxKeys must be an integer >= 1, got 0'
    );
  });
});
