import { FieldType } from '@grafana/data';
import type { ChannelSchema, MessageItem } from '@streamgauge/protocol';
import { FrameBuilder } from '../frame-builder';
import { toMillis } from '../field-mapping';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

const schema: ChannelSchema = {
  declared: true,
  fields: [
    { name: 'latency', type: 'number', unit: 'ms', description: 'scan latency' },
    { name: 'country', type: 'string' },
    { name: 'ok', type: 'boolean' },
    { name: 'seenAt', type: 'time' },
    { name: 'extra', type: 'json' },
    { name: 'size', type: 'number', unit: 'bytes' },
  ],
};

function item(offset: number, data: Record<string, unknown>, ts = T0 + offset * 1000): MessageItem {
  return { offset, ts, data };
}

function column(b: FrameBuilder, name: string): unknown[] {
  const f = b.frame.fields.find((x) => x.name === name);
  if (!f) {
    throw new Error(`no field ${name} in ${b.fieldNames.join(',')}`);
  }
  return [...f.values];
}

describe('FrameBuilder field conversion', () => {
  test('maps every schema type to its Grafana field type, server time first', () => {
    const b = new FrameBuilder({ schema });
    expect(b.frame.fields.map((f) => [f.name, f.type])).toEqual([
      ['ts', FieldType.time],
      ['latency', FieldType.number],
      ['country', FieldType.string],
      ['ok', FieldType.boolean],
      ['seenAt', FieldType.time],
      ['extra', FieldType.other],
      ['size', FieldType.number],
    ]);
  });

  test('carries units and descriptions from the schema into field config', () => {
    const b = new FrameBuilder({ schema });
    const byName = Object.fromEntries(b.frame.fields.map((f) => [f.name, f.config]));
    expect(byName.latency).toEqual({ unit: 'ms', description: 'scan latency' });
    expect(byName.size).toEqual({ unit: 'bytes' });
    expect(byName.country).toEqual({});
  });

  test('converts values: numeric strings to numbers, ISO and seconds to ms, json kept as objects', () => {
    const b = new FrameBuilder({ schema });
    b.append([
      item(1, {
        latency: '12.5',
        country: 'DE',
        ok: true,
        seenAt: '2026-01-01T12:00:00.000Z',
        extra: { a: 1 },
        size: 10,
      }),
      item(2, { latency: 7, country: 42, ok: 'false', seenAt: T0 / 1000, extra: [1, 2] }),
      item(3, { latency: 'n/a', ok: 'maybe', seenAt: 'not a time' }),
    ]);
    expect(column(b, 'ts')).toEqual([T0 + 1000, T0 + 2000, T0 + 3000]);
    expect(column(b, 'latency')).toEqual([12.5, 7, null]);
    expect(column(b, 'country')).toEqual(['DE', '42', null]);
    expect(column(b, 'ok')).toEqual([true, false, null]);
    expect(column(b, 'seenAt')).toEqual([T0, T0, null]);
    expect(column(b, 'extra')).toEqual([{ a: 1 }, [1, 2], null]);
    expect(column(b, 'size')).toEqual([10, null, null]);
  });

  test("uses the data's own time field, not the arrival time, and puts it first", () => {
    const b = new FrameBuilder({ schema: { ...schema, timeField: 'seenAt' } });
    expect(b.fieldNames[0]).toBe('seenAt');
    expect(b.fieldNames).not.toContain('ts');
    b.append([item(1, { seenAt: '2025-06-01T00:00:00Z' }, T0), item(2, {}, T0 + 5)]);
    // An event without its own time falls back to the server time.
    expect(column(b, 'seenAt')).toEqual([Date.UTC(2025, 5, 1), T0 + 5]);
  });

  test('toMillis reads ms, seconds, numeric strings and ISO strings', () => {
    expect(toMillis(T0)).toBe(T0);
    expect(toMillis(T0 / 1000)).toBe(T0);
    expect(toMillis(String(T0))).toBe(T0);
    expect(toMillis('2026-01-01T12:00:00Z')).toBe(T0);
    expect(toMillis('yesterday-ish')).toBeNull();
    expect(toMillis(undefined)).toBeNull();
  });

  test('log channels ask for the logs visualisation with message first, then level', () => {
    const b = new FrameBuilder({
      schema: {
        declared: false,
        fields: [
          { name: 'level', type: 'string' },
          { name: 'service', type: 'string' },
          { name: 'message', type: 'string' },
        ],
      },
    });
    expect(b.frame.meta?.preferredVisualisationType).toBe('logs');
    expect(b.fieldNames).toEqual(['ts', 'message', 'level', 'service']);
  });

  test('Geomap-ready: latitude and longitude stay numeric, country codes stay strings', () => {
    const b = new FrameBuilder({
      schema: {
        declared: true,
        fields: [
          { name: 'latitude', type: 'number' },
          { name: 'longitude', type: 'number' },
          { name: 'country', type: 'string' },
        ],
      },
    });
    b.append([item(1, { latitude: '52.5', longitude: 13.4, country: 'DE' })]);
    expect(b.frame.fields.map((f) => f.type)).toEqual([
      FieldType.time,
      FieldType.number,
      FieldType.number,
      FieldType.string,
    ]);
    expect(column(b, 'latitude')).toEqual([52.5]);
  });

  test('state channels get a key column unless the schema names a key field', () => {
    const s: ChannelSchema = { declared: true, fields: [{ name: 'price', type: 'number' }] };
    const b = new FrameBuilder({ schema: s, kind: 'state' });
    b.append([{ offset: 1, ts: T0, key: 'eth', data: { price: 3000 } }]);
    expect(column(b, 'key')).toEqual(['eth']);
    expect(new FrameBuilder({ schema: { ...s, keyField: 'price' }, kind: 'state' }).fieldNames).not.toContain('key');
  });

  test('entity changes: a delete is a row with the deleted marker and its key; other rows are false', () => {
    const s: ChannelSchema = {
      declared: true,
      keyField: 'id',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'country', type: 'string' },
      ],
    };
    const b = new FrameBuilder({ schema: s, kind: 'entity' });
    expect(b.fieldNames).toEqual(['ts', 'deleted', 'id', 'country']);
    expect(b.frame.fields.find((f) => f.name === 'deleted')!.type).toBe(FieldType.boolean);
    b.append([
      { offset: 1, ts: T0, key: 'c1', data: { id: 'c1', country: 'BR' } },
      { offset: 2, ts: T0 + 1, key: 'c1', deleted: true, data: { reason: 'expired' } },
      { offset: 3, ts: T0 + 2, key: 'c2', data: { id: 'c2', country: 'DE' } },
    ]);
    expect(b.length).toBe(3);
    expect(column(b, 'deleted')).toEqual([false, true, false]);
    expect(column(b, 'id')).toEqual(['c1', 'c1', 'c2']);
    expect(column(b, 'country')).toEqual(['BR', null, 'DE']);
    expect(column(b, 'ts')).toEqual([T0, T0 + 1, T0 + 2]);
  });

  test('entity changes: without a key field the key column comes first; a schema field named deleted keeps its name', () => {
    const s: ChannelSchema = {
      declared: true,
      fields: [
        { name: 'deleted', type: 'string' },
        { name: 'n', type: 'number' },
      ],
    };
    const b = new FrameBuilder({ schema: s, kind: 'entity' });
    expect(b.fieldNames).toEqual(['ts', 'key', '_deleted', 'deleted', 'n']);
    b.append([{ offset: 1, ts: T0, key: 'k', deleted: true, data: {} }]);
    expect(column(b, 'key')).toEqual(['k']);
    expect(column(b, '_deleted')).toEqual([true]);
    // State channels have no deletes: no marker.
    expect(new FrameBuilder({ schema: s, kind: 'state' }).fieldNames).toEqual(['ts', 'key', 'deleted', 'n']);
  });

  test('keeps only the chosen fields, time always included', () => {
    const b = new FrameBuilder({ schema, fields: ['country'] });
    expect(b.fieldNames).toEqual(['ts', 'country']);
  });

  test('annotation frames get time, text and tags columns', () => {
    const b = new FrameBuilder({
      schema: {
        declared: true,
        fields: [
          { name: 'message', type: 'string' },
          { name: 'level', type: 'string' },
        ],
      },
      annotation: { tags: ['deploys'] },
    });
    b.append([item(1, { message: 'v1.2 deployed', level: 'info' })]);
    expect(column(b, 'time')).toEqual([T0 + 1000]);
    expect(column(b, 'text')).toEqual(['v1.2 deployed']);
    expect(column(b, 'tags')).toEqual([['deploys', 'info']]);
  });
});

describe('FrameBuilder bounds and ordering', () => {
  const numbers: ChannelSchema = { declared: true, fields: [{ name: 'v', type: 'number' }] };
  const many = (from: number, n: number) => Array.from({ length: n }, (_, i) => item(from + i, { v: from + i }));

  test('drops offsets already appended: overlapping history and live show each row once', () => {
    const b = new FrameBuilder({ schema: numbers });
    expect(b.append(many(1, 5), 'e1')).toBe(5);
    expect(b.append(many(3, 5), 'e1')).toBe(2);
    expect(column(b, 'v')).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(b.lastOffset).toBe(7);
    expect(b.frame.meta?.custom).toEqual({ epoch: 'e1', lastOffset: 7 });
  });

  test('a new epoch restarts the offset cursor', () => {
    const b = new FrameBuilder({ schema: numbers });
    b.append(many(1, 3), 'e1');
    expect(b.append(many(1, 2), 'e2')).toBe(2);
    expect(column(b, 'v')).toEqual([1, 2, 3, 1, 2]);
  });

  test('never holds more than maxLength rows, on the first append and on later ones', () => {
    const b = new FrameBuilder({ schema: numbers, maxLength: 10 });
    b.append(many(1, 25));
    expect(b.length).toBe(10);
    expect(column(b, 'v')).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    b.append(many(26, 3));
    expect(b.length).toBe(10);
    expect(column(b, 'v')[9]).toBe(28);
    expect(column(b, 'v')[0]).toBe(19);
  });

  test('drops rows older than the time window, measured from the newest row', () => {
    const b = new FrameBuilder({ schema: numbers, maxLength: 1000, maxDeltaMs: 5_000 });
    b.append(many(1, 3));
    b.append(many(4, 20));
    const ts = column(b, 'ts') as number[];
    expect(ts[ts.length - 1] - ts[0]).toBeLessThanOrEqual(5_000);
    expect(column(b, 'v')[0]).toBeGreaterThanOrEqual(18);
  });

  test('applies the query filter before appending, and still advances the cursor', () => {
    const b = new FrameBuilder({ schema: numbers, filter: 'v > 3 and v != 5' });
    expect(b.append(many(1, 6))).toBe(2);
    expect(column(b, 'v')).toEqual([4, 6]);
    expect(b.lastOffset).toBe(6);
  });

  test('rejects a buffer size below 1', () => {
    expect(() => new FrameBuilder({ schema: numbers, maxLength: 0 })).toThrow(
      'maxLength must be an integer >= 1, got 0'
    );
  });

  test('a schema that grows keeps the rows by name', () => {
    const b = new FrameBuilder({ schema: numbers });
    b.append(many(1, 2));
    expect(
      b.setSchema({
        declared: false,
        fields: [
          { name: 'v', type: 'number' },
          { name: 'w', type: 'string' },
        ],
      })
    ).toBe(true);
    b.append([item(3, { v: 3, w: 'x' })]);
    expect(column(b, 'v')).toEqual([1, 2, 3]);
    expect(column(b, 'w')).toEqual([undefined, undefined, 'x']);
  });

  test('notices are shown on the frame until replaced; reset keeps them and empties the rows', () => {
    const b = new FrameBuilder({ schema: numbers });
    b.append(many(1, 3), 'e1');
    b.setNotices([{ severity: 'warning', text: 'position lost' }]);
    b.reset();
    expect(b.length).toBe(0);
    expect(b.lastOffset).toBe(0);
    expect(b.frame.meta?.notices).toEqual([{ severity: 'warning', text: 'position lost' }]);
    b.setNotices([]);
    expect(b.frame.meta?.notices).toBeUndefined();
  });
});
