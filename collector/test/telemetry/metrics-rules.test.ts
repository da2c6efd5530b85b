/**
 * Metric rules seen through a real Prometheus scrape: the demo's own rules (telemetry/demo-config.ts)
 * loaded from a config file, fed with known data, and queried from Prometheus with the values
 * Grafana alert rules will evaluate.
 */
import { type CollectorProcess, publish, startCollector } from '../helpers/collector-process';
import { type PrometheusProcess, startPrometheus } from '../helpers/prometheus-process';
import { DEMO_CHANNELS, DEMO_ENTITY_AGGREGATES, DEMO_METRIC_RULES } from '../../src/telemetry/demo-config';

type Vector = { metric: Record<string, string>; value: [number, string] }[];

describe('metric rules (real collector, real Prometheus)', () => {
  let sg: CollectorProcess;
  let prom: PrometheusProcess;
  /** The connections' started_at, and a time no earlier than c4's deletion: bounds for its duration. */
  let started = 0;
  let deletedBy = 0;

  /** Waits until Prometheus returns exactly `want` for the query (label set -> value). */
  async function expectSeries(query: string, want: Record<string, number>, label?: string): Promise<void> {
    const key = (v: Vector[number]): string => (label ? v.metric[label] : '');
    let last: Vector = [];
    try {
      await prom.waitFor(query, (v) => {
        last = v;
        const got = Object.fromEntries(v.map((x) => [key(x), Number(x.value[1])]));
        return JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(want).sort());
      });
    } catch {
      expect(Object.fromEntries(last.map((x) => [key(x), Number(x.value[1])]))).toEqual(want);
    }
  }

  beforeAll(async () => {
    sg = await startCollector({
      config: {
        channels: { definitions: DEMO_CHANNELS },
        telemetry: { metrics: DEMO_METRIC_RULES, entities: DEMO_ENTITY_AGGREGATES },
      },
    });
    prom = await startPrometheus([`127.0.0.1:${sg.port}`]);
    started = Date.now() - 30_000;
    const r = await publish(sg.url, {
      messages: [
        ...[100, 200, 300].map((ms) => ({
          channel: 'attendance/scans',
          data: { device: 'gate-a', employee: 'e1', result: 'success', latency_ms: ms },
        })),
        ...[400, 2000].map((ms) => ({
          channel: 'attendance/scans',
          data: { device: 'gate-b', employee: 'e2', result: 'failed', latency_ms: ms },
        })),
        { channel: 'attendance/sync', data: { queue: 'main', queue_size: 60, failed_syncs: 12, last_sync_at: Date.now() } },
        { channel: 'attendance/components', data: { component: 'camera', status: 'online', detail: 'ok' } },
        { channel: 'attendance/components', data: { component: 'cloud', status: 'degraded', detail: 'slow' } },
        { channel: 'attendance/components', data: { component: 'sms', status: 'offline', detail: 'no credit' } },
        ...[
          ['c1', 'US', 'news-hd', 8000],
          ['c2', 'US', 'news-hd', 16000],
          ['c3', 'US', 'sports-1', 80000],
          ['c4', 'DE', 'sports-1', 800],
          ['c5', 'CA', 'music', 8],
        ].map(([id, country, stream, bps]) => ({
          channel: 'iptv/connections',
          data: {
            id,
            user: 'u',
            stream,
            ip: '198.51.100.7',
            country,
            city: 'x',
            isp: 'y',
            latitude: 0,
            longitude: 0,
            bytes: 0,
            bitrate_bps: bps,
            started_at: started,
          },
        })),
        { channel: 'dns/events', data: { level: 'warning', message: 'rate limit', category: 'security', role: 'resolver' } },
        { channel: 'dns/events', data: { level: 'warning', message: 'rate limit', category: 'security', role: 'resolver' } },
        { channel: 'dns/events', data: { level: 'info', message: 'zone reloaded', category: 'config', role: 'primary' } },
        {
          channel: 'attendance/events',
          data: { type: 'sync_failed', level: 'error', message: 'sync batch failed: HTTP 502', component: 'cloud' },
        },
        { channel: 'attendance/events', data: { type: 'firmware', level: 'info', message: 'gate-a updated', device: 'gate-a' } },
        { channel: 'pipeline/runs', data: { source: 'shop-a', status: 'success', records: 100, duration_s: 3, errors: 0 } },
        { channel: 'pipeline/runs', data: { source: 'shop-b', status: 'success', records: 250, duration_s: 4, errors: 1 } },
        { channel: 'pipeline/runs', data: { source: 'news', status: 'failed', records: 0, duration_s: 1, errors: 9 } },
        { channel: 'pipeline/quality', data: { dataset: 'products', completeness: 0.95, freshness_s: 120, invalid_rows: 3, status: 'ok' } },
      ],
    });
    expect(r.status).toBe(200);
    // A connection ends: its duration (about 30 s) lands in the duration histogram.
    expect((await publish(sg.url, { channel: 'iptv/connections', key: 'c4', delete: true, data: {} })).status).toBe(200);
    deletedBy = Date.now();
  });
  afterAll(async () => {
    await prom?.stop();
    await sg?.stop();
    sg?.cleanup();
  });

  test('behaviour: counters count events by allowlisted label, others under "other" (attendance_scans_total, attendance_events_total, dns_events_total, pipeline_*_total)', async () => {
    await expectSeries('attendance_scans_total', { success: 3, failed: 2 }, 'result');
    await expectSeries('pipeline_runs_total', { success: 2, failed: 1 }, 'status');
    await expectSeries('pipeline_records_total', { '': 350 });
    await expectSeries(
      'label_join(attendance_events_total > 0, "tl", "/", "type", "level")',
      { 'sync_failed/error': 1, 'other/info': 1 },
      'tl',
    );
    await expectSeries(
      'label_join(dns_events_total > 0, "cl", "/", "category", "level")',
      { 'security/warning': 2, 'config/info': 1 },
      'cl',
    );
  });

  test('behaviour: the success rate of scans (success over all) is 0.6 for 3 of 5', async () => {
    const v = await prom.waitFor('sum(attendance_scans_total{result="success"}) / sum(attendance_scans_total)', (x) => x.length === 1);
    expect(Number(v[0].value[1])).toBeCloseTo(0.6, 10);
  });

  test('behaviour: gauges come from state fields (queue size, failed syncs, component up 1/0.5/0, data quality)', async () => {
    await expectSeries('attendance_sync_queue_size', { '': 60 });
    await expectSeries('attendance_sync_failed', { '': 12 });
    await expectSeries('attendance_component_up', { camera: 1, cloud: 0.5, sms: 0 }, 'component');
    await expectSeries('pipeline_data_completeness_ratio', { products: 0.95 }, 'dataset');
    await expectSeries('pipeline_data_freshness_seconds', { products: 120 }, 'dataset');
    // A new state value replaces the old one at the next scrape.
    await publish(sg.url, { channel: 'attendance/sync', data: { queue: 'main', queue_size: 7, failed_syncs: 0 } });
    await expectSeries('attendance_sync_queue_size', { '': 7 });
  });

  test('behaviour: entity gauges count live connections by country (others under "other") and sum bandwidth per stream', async () => {
    await expectSeries('iptv_connections_active', { US: 3, other: 1 }, 'country');
    await expectSeries('iptv_bandwidth_bytes_per_second', { 'news-hd': 3000, 'sports-1': 10000, music: 1 }, 'stream');
  });

  test('behaviour: a deleted connection is observed once in iptv_connection_duration_seconds', async () => {
    await expectSeries('iptv_connection_duration_seconds_count', { '': 1 });
    const sum = await prom.waitFor('iptv_connection_duration_seconds_sum');
    // Deleted at least 30 s after started_at, and no later than the delete request answered: the
    // upper bound is measured, so a slow machine widens it instead of failing the test.
    expect(Number(sum[0].value[1])).toBeGreaterThanOrEqual(30);
    expect(Number(sum[0].value[1])).toBeLessThanOrEqual((deletedBy - started) / 1000 + 0.001);
    await expectSeries('attendance_scan_latency_seconds_count', { '': 5 });
    await expectSeries('attendance_scan_latency_seconds_sum', { '': 3 });
    await expectSeries('attendance_scan_latency_seconds_bucket{le="0.25"}', { '': 2 });
  });
  test('behaviour: the alert queries of docs/metrics-rules.md fire on data that should fire them', async () => {
    // Prometheus has scraped the earlier values; what follows is an increase it can see.
    await prom.waitFor('attendance_scans_total{result="success"}');
    await publish(sg.url, {
      messages: [
        ...Array.from({ length: 8 }, () => ({
          channel: 'attendance/scans',
          data: { device: 'gate-a', employee: 'e', result: 'success', latency_ms: 100 },
        })),
        ...Array.from({ length: 4 }, () => ({
          channel: 'attendance/scans',
          data: { device: 'gate-a', employee: 'e', result: 'failed', latency_ms: 100 },
        })),
        { channel: 'attendance/sync', data: { queue: 'main', queue_size: 61, failed_syncs: 11 } },
      ],
    });
    const rate = await prom.waitFor(
      'sum(increase(attendance_scans_total{result="success"}[1m])) / sum(increase(attendance_scans_total[1m])) < 0.8 and sum(increase(attendance_scans_total[1m])) > 10',
    );
    expect(Number(rate[0].value[1])).toBeCloseTo(8 / 12, 1);
    expect(Number((await prom.waitFor('attendance_sync_queue_size > 50'))[0].value[1])).toBe(61);
    expect(Number((await prom.waitFor('attendance_sync_failed > 10'))[0].value[1])).toBe(11);
    expect((await prom.waitFor('attendance_component_up == 0')).map((v) => v.metric.component)).toEqual(['sms']);
  });
});
