/** Unit tests of the small pure pieces of telemetry: cardinality bounds, label sets, payload detection, aggregator groups. */
import { Registry } from 'prom-client';
import { seriesBound, telemetryConfigProblems } from '../../src/telemetry/config';
import { detectSource, labelsFingerprint } from '../../src/telemetry/alert-payload';
import { EntityAggregator } from '../../src/telemetry/entity-aggregator';
import { CompiledRule, allowedLabelSets } from '../../src/telemetry/metric-rules';
import { DEMO_CHANNELS, DEMO_ENTITY_AGGREGATES, DEMO_METRIC_RULES } from '../../src/telemetry/demo-config';
import { ALERTS_CHANNEL } from '../../src/telemetry/alerts-channel';

describe('telemetry pure pieces', () => {
  test('behaviour: the demo config passes its own validation (names the dashboards rely on stay valid)', () => {
    const kinds = new Map<string, string>(DEMO_CHANNELS.map((d) => [d.name, d.kind ?? 'stream']));
    kinds.set(ALERTS_CHANNEL.name, 'state');
    expect(
      telemetryConfigProblems({ metrics: DEMO_METRIC_RULES, entities: DEMO_ENTITY_AGGREGATES, maxSeriesPerRule: 1000 }, kinds),
    ).toEqual([]);
  });

  test('behaviour: seriesBound multiplies (allowed values + other) over labels', () => {
    expect(seriesBound({})).toBe(1);
    expect(
      seriesBound({
        labels: [
          { name: 'a', field: 'a', allow: ['x', 'y'] },
          { name: 'b', field: 'b', maxValues: 9 },
        ],
      }),
    ).toBe(30);
    expect(seriesBound({ labels: [{ name: 'a', field: 'a' }] })).toBe(Infinity);
  });

  test('behaviour: allowedLabelSets lists every allowlisted combination, none when a label uses maxValues', () => {
    expect(
      allowedLabelSets([
        { name: 'r', field: 'r', allow: ['ok', 'ko'] },
        { name: 'l', field: 'l', allow: ['a'] },
      ]),
    ).toEqual([
      { r: 'ok', l: 'a' },
      { r: 'ko', l: 'a' },
    ]);
    expect(allowedLabelSets([{ name: 'r', field: 'r', maxValues: 3 }])).toEqual([]);
  });

  test('behaviour: maxValues keeps the first N values and files later new ones under "other"', async () => {
    const registry = new Registry();
    const rule = new CompiledRule(
      { name: 'x_total', help: 'h', type: 'counter', channel: 'a/b', labels: [{ name: 'k', field: 'k', maxValues: 2 }] },
      registry,
      () => [],
    );
    for (const k of ['p', 'q', 'r', 'p', 's', undefined]) {
      rule.apply({ channel: 'a/b', kind: 'stream', deleted: false, ts: 0, data: k === undefined ? {} : { k } });
    }
    const text = await registry.metrics();
    expect(text).toContain('x_total{k="p"} 2');
    expect(text).toContain('x_total{k="q"} 1');
    expect(text).toContain('x_total{k="other"} 3');
  });

  test('behaviour: the aggregator counts groups past maxGroups under <field>=other', () => {
    const a = new EntityAggregator({ channel: 'e', output: 'e/agg', groupBy: ['c'], sum: ['n'], maxGroups: 2 });
    for (const [c, n] of [
      ['US', 1],
      ['DE', 2],
      ['FR', 4],
      ['JP', 8],
    ] as const) {
      a.upsert({ c, n }, undefined);
    }
    expect(a.row('c=other')).toMatchObject({ count: 2, n: 12 });
    expect(a.row('total')).toMatchObject({ count: 4, n: 15 });
    expect(
      a
        .takeChanges()
        .map((i) => (i.data as { dimension: string }).dimension)
        .sort(),
    ).toEqual(['c=DE', 'c=US', 'c=other', 'total']);
    expect(a.takeChanges()).toEqual([]);
  });

  test('behaviour: payload format detection and label fingerprints', () => {
    expect(detectSource({ orgId: 1, alerts: [] })).toBe('grafana');
    expect(detectSource({ version: '4', alerts: [] })).toBe('alertmanager');
    expect(labelsFingerprint({ a: '1', b: '2' })).toBe(labelsFingerprint({ b: '2', a: '1' }));
    expect(labelsFingerprint({ a: '1', b: '2' })).not.toBe(labelsFingerprint({ a: '1', b: '3' }));
  });
});
