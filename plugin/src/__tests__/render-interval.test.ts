import { STREAM_DEFAULTS } from '../stream/target-spec';
import { DEFAULT_OPTIONS, RENDER_INTERVAL_LIMITS, renderInterval } from '../types';

describe('renderIntervalMs (data source option)', () => {
  test('behavior: unset means the documented default, which the targets use', () => {
    expect(DEFAULT_OPTIONS.renderIntervalMs).toBe(30);
    expect(renderInterval(undefined)).toBe(30);
    expect(renderInterval(0)).toBe(30);
    expect(renderInterval(Number.NaN)).toBe(30);
    expect(STREAM_DEFAULTS.minEmitIntervalMs).toBe(30);
  });

  test('behavior: values are clamped to 10..1000 ms', () => {
    expect(RENDER_INTERVAL_LIMITS).toEqual({ minMs: 10, maxMs: 1_000 });
    expect(renderInterval(1)).toBe(10);
    expect(renderInterval(50)).toBe(50);
    expect(renderInterval(60_000)).toBe(1_000);
  });
});
