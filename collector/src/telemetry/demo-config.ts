/**
 * The demo's channels, metric rules and entity aggregates, in one place: the collector loads them
 * when demo is enabled (`--demo`, SG_DEMO=true), the demo source publishes into them, and the
 * provisioning (dashboards, Grafana alert rules) is built on exactly these names. Changing a name
 * here breaks dashboards and alert rules: change them together.
 *
 * The four systems come from issue 4: an IoT attendance system, an IPTV panel, a DNS server and a
 * data pipeline. Events channels use the logs-panel shape: `level` + `message` + flat attributes.
 */
import type { ChannelDefinition } from '../config/defaults';
import type { EntityAggregateRule, MetricRule } from './config';
import { ALERTS_CHANNEL } from './alerts-channel';

/** Levels understood by Grafana's logs panel (it colours them): info, warning, error, critical. */
const eventFields = (extra: ChannelDefinition['fields'] = []): NonNullable<ChannelDefinition['fields']> => [
  { name: 'level', type: 'string', description: 'info | warning | error | critical' },
  { name: 'message', type: 'string' },
  ...extra,
];

export const DEMO_CHANNELS: readonly ChannelDefinition[] = [
  // ---- IoT attendance -------------------------------------------------------------------------
  {
    name: 'attendance/scans',
    kind: 'stream',
    description: 'Badge and face scans at attendance devices.',
    fields: [
      { name: 'device', type: 'string' },
      { name: 'employee', type: 'string' },
      { name: 'result', type: 'string', description: 'success | failed' },
      { name: 'latency_ms', type: 'number', unit: 'ms' },
    ],
  },
  {
    name: 'attendance/sync',
    kind: 'state',
    keyField: 'queue',
    description: 'Cloud sync queue of the attendance system.',
    fields: [
      { name: 'queue', type: 'string' },
      { name: 'queue_size', type: 'number' },
      { name: 'failed_syncs', type: 'number' },
      { name: 'last_sync_at', type: 'time' },
    ],
  },
  {
    name: 'attendance/components',
    kind: 'state',
    keyField: 'component',
    description: 'Status of the attendance system parts: camera, cloud, sms, reader.',
    fields: [
      { name: 'component', type: 'string', description: 'camera | cloud | sms | reader' },
      { name: 'status', type: 'string', description: 'online | degraded | offline' },
      { name: 'detail', type: 'string' },
    ],
  },
  {
    name: 'attendance/events',
    kind: 'stream',
    description: 'Events of the attendance system (logs panel).',
    fields: eventFields([
      { name: 'type', type: 'string', description: 'service_started | scan_rejected | sync_failed | cloud_outage | component_status' },
      { name: 'device', type: 'string' },
      { name: 'component', type: 'string' },
    ]),
  },
  // ---- IPTV panel -----------------------------------------------------------------------------
  {
    name: 'iptv/connections',
    kind: 'entity',
    keyField: 'id',
    description: 'Live viewer connections (upserted while watching, deleted or expired by TTL when gone).',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'user', type: 'string' },
      { name: 'stream', type: 'string' },
      { name: 'ip', type: 'string' },
      { name: 'country', type: 'string', description: 'ISO 3166-1 alpha-2' },
      { name: 'city', type: 'string' },
      { name: 'isp', type: 'string' },
      { name: 'latitude', type: 'number' },
      { name: 'longitude', type: 'number' },
      { name: 'bytes', type: 'number', unit: 'bytes' },
      { name: 'bitrate_bps', type: 'number', unit: 'bps' },
      { name: 'started_at', type: 'time' },
      { name: 'reason', type: 'string', description: 'On deletes: closed | expired' },
    ],
  },
  {
    name: 'iptv/streams',
    kind: 'state',
    keyField: 'stream',
    description: 'Streams of the IPTV panel.',
    fields: [
      { name: 'stream', type: 'string' },
      { name: 'viewers', type: 'number' },
      { name: 'bitrate_bps', type: 'number', unit: 'bps' },
      { name: 'status', type: 'string', description: 'up | degraded | down' },
    ],
  },
  // iptv/connections/aggregates is declared by the entity aggregator from DEMO_ENTITY_AGGREGATES.
  // ---- DNS server -----------------------------------------------------------------------------
  {
    name: 'dns/events',
    kind: 'stream',
    description: 'Health, security and configuration events of the DNS servers (logs panel).',
    fields: eventFields([
      { name: 'category', type: 'string', description: 'health | security | config' },
      { name: 'role', type: 'string', description: 'primary | secondary | resolver' },
      { name: 'server', type: 'string' },
      { name: 'client_ip', type: 'string' },
      { name: 'zone', type: 'string' },
    ]),
  },
  {
    name: 'dns/health',
    kind: 'state',
    keyField: 'component',
    description: 'Health of each DNS server.',
    fields: [
      { name: 'component', type: 'string' },
      { name: 'role', type: 'string' },
      { name: 'status', type: 'string', description: 'online | degraded | offline' },
      { name: 'qps', type: 'number', unit: 'reqps' },
      { name: 'latency_ms', type: 'number', unit: 'ms' },
      { name: 'detail', type: 'string' },
    ],
  },
  // ---- Data pipeline --------------------------------------------------------------------------
  {
    name: 'pipeline/runs',
    kind: 'stream',
    description: 'Scraping runs of the data pipeline.',
    fields: [
      { name: 'source', type: 'string' },
      { name: 'status', type: 'string', description: 'success | failed' },
      { name: 'records', type: 'number' },
      { name: 'duration_s', type: 'number', unit: 's' },
      { name: 'errors', type: 'number' },
    ],
  },
  {
    name: 'pipeline/quality',
    kind: 'state',
    keyField: 'dataset',
    description: 'Data quality per dataset.',
    fields: [
      { name: 'dataset', type: 'string' },
      { name: 'completeness', type: 'number', unit: 'percentunit' },
      { name: 'freshness_s', type: 'number', unit: 's' },
      { name: 'invalid_rows', type: 'number' },
      { name: 'status', type: 'string', description: 'ok | stale | degraded' },
    ],
  },
];

/** Values the demo generator uses; the label allowlists below come from them. */
export const DEMO_COMPONENTS = ['camera', 'cloud', 'sms', 'reader'] as const;
export const DEMO_STREAMS = ['news-hd', 'sports-1', 'sports-2', 'movies', 'kids', 'music'] as const;
export const DEMO_COUNTRIES = ['US', 'GB', 'DE', 'FR', 'ES', 'BR', 'IN', 'JP', 'NG', 'AU', 'MX', 'EG'] as const;
export const DEMO_PIPELINE_SOURCES = ['shop-a', 'shop-b', 'news', 'weather', 'prices'] as const;
export const DEMO_DATASETS = ['products', 'articles', 'forecasts', 'prices'] as const;

export const DEMO_METRIC_RULES: readonly MetricRule[] = [
  {
    name: 'attendance_scans_total',
    help: 'Attendance scans, by result (success or failed).',
    type: 'counter',
    channel: 'attendance/scans',
    labels: [{ name: 'result', field: 'result', allow: ['success', 'failed'] }],
  },
  {
    name: 'attendance_events_total',
    help: 'Attendance system events, by type and level.',
    type: 'counter',
    channel: 'attendance/events',
    labels: [
      { name: 'type', field: 'type', allow: ['service_started', 'scan_rejected', 'sync_failed', 'cloud_outage', 'component_status'] },
      { name: 'level', field: 'level', allow: ['info', 'warning', 'error', 'critical'] },
    ],
  },
  {
    name: 'attendance_scan_latency_seconds',
    help: 'Scan latency at the device.',
    type: 'histogram',
    channel: 'attendance/scans',
    value: 'latency_ms',
    scale: 0.001,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  },
  {
    name: 'attendance_sync_queue_size',
    help: 'Records waiting in the cloud sync queue (sum over queues).',
    type: 'gauge',
    channel: 'attendance/sync',
    value: 'queue_size',
    aggregate: 'sum',
  },
  {
    name: 'attendance_sync_failed',
    help: 'Failed syncs currently reported by the sync queue (state field failed_syncs, sum over queues).',
    type: 'gauge',
    channel: 'attendance/sync',
    value: 'failed_syncs',
    aggregate: 'sum',
  },
  {
    name: 'attendance_component_up',
    help: 'Component status: 1 online, 0.5 degraded, 0 offline.',
    type: 'gauge',
    channel: 'attendance/components',
    value: 'status',
    map: { online: 1, degraded: 0.5, offline: 0 },
    labels: [{ name: 'component', field: 'component', allow: [...DEMO_COMPONENTS] }],
  },
  {
    name: 'iptv_connections_active',
    help: 'Live IPTV connections, by country (ISO 3166-1 alpha-2; others under "other").',
    type: 'gauge',
    channel: 'iptv/connections',
    aggregate: 'count',
    labels: [{ name: 'country', field: 'country', allow: [...DEMO_COUNTRIES] }],
  },
  {
    name: 'iptv_bandwidth_bytes_per_second',
    help: 'Bandwidth of live IPTV connections, by stream (sum of bitrate_bps / 8).',
    type: 'gauge',
    channel: 'iptv/connections',
    value: 'bitrate_bps',
    scale: 0.125,
    aggregate: 'sum',
    labels: [{ name: 'stream', field: 'stream', maxValues: 20 }],
  },
  {
    name: 'iptv_connection_duration_seconds',
    help: 'Duration of IPTV connections, observed when a connection is deleted or expires.',
    type: 'histogram',
    channel: 'iptv/connections',
    on: 'delete',
    durationFrom: 'started_at',
    buckets: [10, 30, 60, 300, 900, 1800, 3600, 7200],
  },
  {
    name: 'dns_events_total',
    help: 'DNS server events, by category and level.',
    type: 'counter',
    channel: 'dns/events',
    labels: [
      { name: 'category', field: 'category', allow: ['health', 'security', 'config'] },
      { name: 'level', field: 'level', allow: ['info', 'warning', 'error', 'critical'] },
    ],
  },
  {
    name: 'pipeline_runs_total',
    help: 'Pipeline runs, by status (success or failed).',
    type: 'counter',
    channel: 'pipeline/runs',
    labels: [{ name: 'status', field: 'status', allow: ['success', 'failed'] }],
  },
  {
    name: 'pipeline_records_total',
    help: "Records scraped by the pipeline (sum of the runs' records field).",
    type: 'counter',
    channel: 'pipeline/runs',
    value: 'records',
  },
  {
    name: 'pipeline_data_completeness_ratio',
    help: 'Completeness of each dataset, 0..1.',
    type: 'gauge',
    channel: 'pipeline/quality',
    value: 'completeness',
    labels: [{ name: 'dataset', field: 'dataset', maxValues: 50 }],
  },
  {
    name: 'pipeline_data_freshness_seconds',
    help: 'Age of the newest data of each dataset.',
    type: 'gauge',
    channel: 'pipeline/quality',
    value: 'freshness_s',
    labels: [{ name: 'dataset', field: 'dataset', maxValues: 50 }],
  },
];

/** Live aggregates of the connections entity channel, kept in iptv/connections/aggregates. */
export const DEMO_ENTITY_AGGREGATES: readonly EntityAggregateRule[] = [
  {
    channel: 'iptv/connections',
    output: 'iptv/connections/aggregates',
    groupBy: ['country', 'stream'],
    sum: ['bitrate_bps', 'bytes'],
    durationFrom: 'started_at',
    maxGroups: 500,
  },
];

/** Every channel the demo uses, including the always-present alerts channel (for provisioning). */
export const DEMO_CHANNEL_NAMES: readonly string[] = [
  ...DEMO_CHANNELS.map((c) => c.name),
  'iptv/connections/aggregates',
  ALERTS_CHANNEL.name,
];
