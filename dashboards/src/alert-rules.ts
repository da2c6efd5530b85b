/**
 * The alert rules, one place for each rule's PromQL. Two files are generated from this list:
 * - provisioning/alerting/rules.yaml: Grafana-managed rules (query A → reduce B → threshold C);
 * - prometheus/rules.yml: the same condition as Prometheus alerting rules (`(query) op threshold`),
 *   unit-tested with `promtool test rules` (prometheus/rules.test.yml), so the PromQL runs through a
 *   real Prometheus engine and not only through Grafana's UI.
 */

export type Op = '>' | '<';

export interface AlertRuleSpec {
  /** Grafana rule uid and Prometheus `alert` name source: kebab-case, stable. */
  uid: string;
  /** Prometheus alert name (CamelCase). */
  alert: string;
  title: string;
  /** Instant PromQL whose value is compared with `threshold`. Must not end in a comparison. */
  query: string;
  op: Op;
  threshold: number;
  /** How long the condition must hold before firing (Prometheus duration). */
  for: string;
  severity: 'critical' | 'warning';
  /**
   * Uses `{{ .Labels.x }}`, never `$labels`: Grafana interpolates `$NAME` from the environment in
   * provisioning files, and both Prometheus and Grafana templates accept `.Labels`.
   */
  summary: string;
  /**
   * What Grafana does when the query returns nothing. Most queries return nothing when the
   * system they watch is not deployed; that is not an alert. `Alerting` for the one rule where
   * silence is the symptom.
   */
  noData?: 'OK' | 'NoData' | 'Alerting';
}

/** The Prometheus job the collector is scraped under (prometheus/prometheus.yml). */
export const COLLECTOR_JOB = 'streamgauge-collector';

export const ALERT_RULES: readonly AlertRuleSpec[] = [
  {
    uid: 'sg-collector-down',
    alert: 'CollectorDown',
    title: 'Collector down',
    query: `up{job="${COLLECTOR_JOB}"}`,
    op: '<',
    threshold: 1,
    for: '30s',
    severity: 'critical',
    summary: 'Prometheus cannot scrape the Streamgauge collector at {{ .Labels.instance }}.',
    noData: 'Alerting',
  },
  {
    uid: 'sg-chain-head-stale',
    alert: 'ChainHeadStale',
    title: 'Chain head stale',
    query: 'max by (chain) (streamgauge_evm_head_age_seconds)',
    op: '>',
    threshold: 60,
    for: '0s',
    severity: 'critical',
    summary: 'No new block on chain {{ .Labels.chain }} for more than 60 s.',
  },
  {
    uid: 'sg-deep-reorg',
    alert: 'ChainReorgDeeperThanConfirmations',
    title: 'Reorg deeper than the confirmation depth',
    // The last depth stays exposed after the reorg; only count it while a reorg happened recently.
    query:
      'max by (chain) (streamgauge_evm_reorg_last_depth) - on (chain) max by (chain) (streamgauge_evm_confirmation_depth)' +
      ' and on (chain) max by (chain) (increase(streamgauge_evm_reorgs_total[15m])) > 0',
    op: '>',
    threshold: 0,
    for: '0s',
    severity: 'critical',
    summary: 'A reorg on chain {{ .Labels.chain }} replaced blocks that were already considered confirmed.',
  },
  {
    uid: 'sg-sync-queue-high',
    alert: 'SyncQueueHigh',
    title: 'Sync queue over 50',
    query: 'max(attendance_sync_queue_size)',
    op: '>',
    threshold: 50,
    for: '1m',
    severity: 'warning',
    summary: 'The attendance sync queue holds more than 50 records.',
  },
  {
    uid: 'sg-sync-failures-high',
    alert: 'SyncFailuresHigh',
    title: 'Failed syncs over 10',
    query: 'max(attendance_sync_failed)',
    op: '>',
    threshold: 10,
    for: '0s',
    severity: 'warning',
    summary: 'More than 10 attendance syncs are in the failed state.',
  },
  {
    uid: 'sg-scan-success-low',
    alert: 'ScanSuccessRateLow',
    title: 'Scan success rate under 80 %',
    // Ratio over 5 minutes, only when there were more than 10 scans: a single failure on a quiet
    // morning must not page anyone.
    query:
      'sum(increase(attendance_scans_total{result="success"}[5m])) / sum(increase(attendance_scans_total[5m]))' +
      ' and on () sum(increase(attendance_scans_total[5m])) > 10',
    op: '<',
    threshold: 0.8,
    for: '0s',
    severity: 'warning',
    summary: 'Fewer than 80 % of attendance scans succeeded over the last 5 minutes.',
  },
  {
    uid: 'sg-component-offline',
    alert: 'ComponentOffline',
    title: 'Component offline',
    // 1 online, 0.5 degraded, 0 offline (collector/src/telemetry/demo-config.ts): degraded is not offline.
    query: 'min by (component) (attendance_component_up)',
    op: '<',
    threshold: 0.5,
    for: '1m',
    severity: 'critical',
    summary: 'Component {{ .Labels.component }} has been offline for over a minute.',
  },
  {
    uid: 'sg-slow-client-disconnects',
    alert: 'SlowClientDisconnectsSpiking',
    title: 'Slow-client disconnects spiking',
    query: 'sum(increase(streamgauge_slow_client_disconnects_total[5m]))',
    op: '>',
    threshold: 5,
    for: '0s',
    severity: 'warning',
    summary: 'More than 5 clients were disconnected as too slow in 5 minutes: check bandwidth and subscriber load.',
  },
];

/** The Prometheus expression of a rule: the query compared with its threshold. */
export function prometheusExpr(r: AlertRuleSpec): string {
  return `(${r.query}) ${r.op} ${r.threshold}`;
}
