/** Pipeline and data quality: replaces the nightly "did the sync run" e-mails and the scan report. */
import { dashboard, live, prom, stat, table, timeseries } from '../panels';

const pct = [
  { value: null, color: 'red' },
  { value: 0.8, color: 'orange' },
  { value: 0.95, color: 'green' },
];

export const pipelineQuality = dashboard({
  uid: 'sg-pipeline-quality',
  title: 'Pipeline and data quality',
  description: 'Scan and pipeline success rates, the sync queue, and how fresh and complete each dataset is.',
  tags: ['pipeline', 'attendance'],
  panels: [
    stat(
      [
        prom('sum(increase(attendance_scans_total{result="success"}[5m])) / sum(increase(attendance_scans_total[5m]))', 'scans', {
          instant: true,
          range: false,
        }),
      ],
      { title: 'Scan success (5m)', unit: 'percentunit', thresholds: pct },
    ),
    stat(
      [
        prom('sum(increase(pipeline_runs_total{status="success"}[15m])) / sum(increase(pipeline_runs_total[15m]))', 'runs', {
          instant: true,
          range: false,
        }),
      ],
      { title: 'Pipeline run success (15m)', unit: 'percentunit', thresholds: pct },
    ),
    stat([prom('max(attendance_sync_queue_size)', 'queue', { instant: true, range: false })], {
      title: 'Sync queue',
      decimals: 0,
      thresholds: [
        { value: null, color: 'green' },
        { value: 50, color: 'red' },
      ],
    }),
    stat([prom('max(attendance_sync_failed)', 'failed', { instant: true, range: false })], {
      title: 'Failed syncs',
      decimals: 0,
      thresholds: [
        { value: null, color: 'green' },
        { value: 10, color: 'red' },
      ],
    }),
    timeseries(
      [
        prom('sum(rate(attendance_scans_total{result="success"}[5m])) / sum(rate(attendance_scans_total[5m]))', 'scans'),
        prom('sum(rate(pipeline_runs_total{status="success"}[15m])) / sum(rate(pipeline_runs_total[15m]))', 'pipeline runs'),
      ],
      { title: 'Success rates', unit: 'percentunit', min: 0, max: 1 },
    ),
    timeseries([prom('max(attendance_sync_queue_size)', 'queue'), prom('max(attendance_sync_failed)', 'failed')], {
      title: 'Sync queue and failures',
      decimals: 0,
    }),
    timeseries([prom('max by (dataset) (pipeline_data_freshness_seconds)', '{{dataset}}')], {
      title: 'Data freshness (age of newest record)',
      unit: 's',
    }),
    timeseries([prom('min by (dataset) (pipeline_data_completeness_ratio)', '{{dataset}}')], {
      title: 'Data completeness',
      unit: 'percentunit',
      min: 0,
      max: 1,
    }),
    timeseries(
      [
        prom('sum by (result) (rate(attendance_scans_total[1m]))', '{{result}}'),
        prom('sum(rate(pipeline_records_total[1m]))', 'pipeline records/s'),
      ],
      {
        title: 'Throughput',
        unit: 'ops',
      },
    ),
    timeseries([prom('histogram_quantile(0.95, sum by (le) (rate(attendance_scan_latency_seconds_bucket[5m])))', 'p95')], {
      title: 'Scan latency p95',
      unit: 's',
    }),
    // State channels as current state: one row per queue / dataset, what is true now.
    table([live('attendance/sync', { view: 'current' })], { title: 'Sync state (now)', size: { w: 8, h: 8 } }),
    table([live('pipeline/quality', { view: 'current' })], { title: 'Data quality (now)', size: { w: 8, h: 8 } }),
    table([live('pipeline/runs', { bufferSize: 100 })], { title: 'Pipeline runs (live)', size: { w: 8, h: 8 } }),
    table([live('attendance/scans', { bufferSize: 200 })], { title: 'Scans (live)', size: { w: 24, h: 8 } }),
  ],
});
