/** The collector itself: is the pipe healthy, and who is slow. */
import { dashboard, prom, stat, timeseries } from '../panels';
import { COLLECTOR_JOB } from '../alert-rules';

const q = (p: number) =>
  prom(`histogram_quantile(${p}, sum by (le) (rate(streamgauge_publish_to_send_seconds_bucket[1m])))`, `p${Math.round(p * 100)}`);

export const collectorDashboard = dashboard({
  uid: 'sg-collector',
  title: 'Streamgauge collector',
  description: 'Clients, deliveries, latency from publish to send, slow-client disconnects and the event log.',
  tags: ['collector'],
  panels: [
    stat([prom(`min(up{job="${COLLECTOR_JOB}"})`, 'up', { instant: true, range: false })], {
      title: 'Collector',
      mappings: [{ type: 'value', options: { '0': { text: 'DOWN', color: 'red' }, '1': { text: 'UP', color: 'green' } } }],
      options: { graphMode: 'none', colorMode: 'background' },
    }),
    stat([prom('sum(streamgauge_clients)', 'clients', { instant: true, range: false })], { title: 'Clients', decimals: 0 }),
    stat([prom('sum(streamgauge_subscriptions)', 'subscriptions', { instant: true, range: false })], {
      title: 'Subscriptions',
      decimals: 0,
    }),
    stat([prom('sum(streamgauge_channels)', 'channels', { instant: true, range: false })], { title: 'Channels', decimals: 0 }),
    timeseries([prom('sum by (transport) (streamgauge_clients)', '{{transport}}')], {
      title: 'Clients by transport',
      decimals: 0,
      size: { w: 8, h: 8 },
    }),
    timeseries(
      [
        prom('sum by (transport) (rate(streamgauge_messages_delivered_total[1m]))', 'delivered {{transport}}'),
        prom('sum(rate(streamgauge_messages_published_total[1m]))', 'published'),
        prom('sum(rate(streamgauge_messages_dropped_total[1m]))', 'dropped'),
      ],
      { title: 'Messages per second', unit: 'ops', size: { w: 8, h: 8 } },
    ),
    timeseries([q(0.5), q(0.95), q(0.99)], { title: 'Publish to send latency', unit: 's', size: { w: 8, h: 8 } }),
    timeseries([prom('sum by (transport) (increase(streamgauge_slow_client_disconnects_total[5m]))', '{{transport}}')], {
      title: 'Slow-client disconnects (5m)',
      decimals: 0,
      size: { w: 8, h: 8 },
    }),
    timeseries([prom('sum(streamgauge_send_queue_bytes)', 'queued')], {
      title: 'Bytes queued for clients',
      unit: 'bytes',
      size: { w: 8, h: 8 },
    }),
    timeseries([prom('sum by (namespace) (rate(streamgauge_messages_published_total[1m]))', '{{namespace}}')], {
      title: 'Published per namespace',
      unit: 'ops',
      size: { w: 8, h: 8 },
    }),
    timeseries([prom('max(streamgauge_log_size_bytes)', 'size')], { title: 'Event log size', unit: 'bytes', size: { w: 8, h: 8 } }),
    timeseries([prom('max(streamgauge_log_messages)', 'messages'), prom('sum(rate(streamgauge_log_evictions_total[5m]))', 'evictions/s')], {
      title: 'Event log messages and evictions',
      size: { w: 8, h: 8 },
    }),
    timeseries([prom('histogram_quantile(0.95, sum by (le) (rate(streamgauge_http_request_duration_seconds_bucket[5m])))', 'p95')], {
      title: 'HTTP request latency p95',
      unit: 's',
      size: { w: 8, h: 8 },
    }),
    // Process metrics of the collector's job only: Prometheus scrapes itself too (prometheus.yml),
    // and its own process_* series would mix in.
    timeseries([prom(`max by (instance) (process_resident_memory_bytes{job="${COLLECTOR_JOB}"})`, 'RSS {{instance}}')], {
      title: 'Memory',
      unit: 'bytes',
      size: { w: 8, h: 8 },
    }),
    timeseries([prom(`sum by (instance) (rate(process_cpu_seconds_total{job="${COLLECTOR_JOB}"}[1m]))`, 'CPU {{instance}}')], {
      title: 'CPU',
      unit: 'percentunit',
      size: { w: 8, h: 8 },
    }),
    stat([prom('min(streamgauge_store_up)', 'store', { instant: true, range: false })], {
      title: 'Store',
      size: { w: 8, h: 8 },
      mappings: [{ type: 'value', options: { '0': { text: 'DOWN', color: 'red' }, '1': { text: 'UP', color: 'green' } } }],
      options: { graphMode: 'none', colorMode: 'background' },
    }),
  ],
});
