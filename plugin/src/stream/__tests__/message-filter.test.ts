import { compileFilter, parseFilter } from '../message-filter';

const m = (data: Record<string, unknown>, key?: string) => ({ offset: 1, ts: 0, data, key });

describe('message filter', () => {
  test('parses conditions joined by and or commas, stripping quotes', () => {
    expect(parseFilter(`level = "error" and latency >= 10, country~D`)).toEqual([
      { field: 'level', op: '=', value: 'error' },
      { field: 'latency', op: '>=', value: '10' },
      { field: 'country', op: '~', value: 'D' },
    ]);
  });

  test('compares numbers as numbers and strings as strings', () => {
    const f = compileFilter('v > 9')!;
    expect(f(m({ v: 10 }))).toBe(true);
    expect(f(m({ v: 9 }))).toBe(false);
    expect(compileFilter('name = 10')!(m({ name: '10' }))).toBe(true);
    expect(compileFilter('country != DE')!(m({ country: 'FR' }))).toBe(true);
    expect(compileFilter('msg ~ boom')!(m({ msg: 'kaboom!' }))).toBe(true);
    expect(compileFilter('missing = x')!(m({}))).toBe(false);
  });

  test('filters on the message key of state channels', () => {
    expect(compileFilter('key = eth')!(m({ price: 1 }, 'eth'))).toBe(true);
  });

  test("a filter on the channel's key field keeps an entity delete, whose data lacks the key", () => {
    const del = { ...m({ reason: 'closed' }, 'c1'), deleted: true };
    expect(compileFilter('id = c1', 'id')!(del)).toBe(true);
    expect(compileFilter('id = c2', 'id')!(del)).toBe(false);
    // Without the key field named, a field missing from the data matches nothing.
    expect(compileFilter('id = c1')!(del)).toBe(false);
    // The data's own value wins when present.
    expect(compileFilter('id = c1', 'id')!(m({ id: 'c9' }, 'c1'))).toBe(false);
  });

  test('an empty filter compiles to nothing', () => {
    expect(compileFilter('  ')).toBeUndefined();
  });

  test('a malformed condition fails with a code and says what is expected', () => {
    expect(() => parseFilter('level error')).toThrow(
      'filter "level error": expected field op value, op one of = != > >= < <= ~'
    );
    try {
      parseFilter('=');
    } catch (err) {
      expect((err as { code: string }).code).toBe('SG_PLUGIN_BAD_FILTER');
    }
  });
});
