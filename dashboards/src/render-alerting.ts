/** Renders ALERT_RULES as Grafana file provisioning (apiVersion 1) and as Prometheus rules. */
import { ALERT_RULES, prometheusExpr, type AlertRuleSpec } from './alert-rules';
import { EXPRESSION, PROMETHEUS } from './datasources';

export const CONTACT_POINT = 'streamgauge-collector';
export const ALERT_FOLDER = 'Streamgauge';
export const RULE_GROUP = 'streamgauge';
/**
 * Evaluation interval of the rule group (Grafana and Prometheus alike). Grafana requires a multiple
 * of its 10 s scheduler interval (ValidateRuleGroupInterval; checked by grafana-validation.ts).
 */
export const EVAL_INTERVAL = '10s';
/** The collector's alert webhook, as Grafana reaches it inside docker-compose. */
export const WEBHOOK_URL = 'http://collector:8080/api/v1/alerts/webhook';

function grafanaRule(r: AlertRuleSpec) {
  return {
    uid: r.uid,
    title: r.title,
    condition: 'C',
    data: [
      {
        refId: 'A',
        relativeTimeRange: { from: 900, to: 0 },
        datasourceUid: PROMETHEUS.uid,
        model: { refId: 'A', expr: r.query, instant: true, intervalMs: 1000, maxDataPoints: 43200 },
      },
      {
        refId: 'B',
        relativeTimeRange: { from: 0, to: 0 },
        datasourceUid: EXPRESSION.uid,
        model: { refId: 'B', type: 'reduce', expression: 'A', reducer: 'last', datasource: EXPRESSION },
      },
      {
        refId: 'C',
        relativeTimeRange: { from: 0, to: 0 },
        datasourceUid: EXPRESSION.uid,
        model: {
          refId: 'C',
          type: 'threshold',
          expression: 'B',
          conditions: [{ evaluator: { type: r.op === '>' ? 'gt' : 'lt', params: [r.threshold] } }],
          datasource: EXPRESSION,
        },
      },
    ],
    noDataState: r.noData ?? 'OK',
    execErrState: 'Error',
    for: r.for,
    isPaused: false,
    annotations: { summary: r.summary },
    labels: { severity: r.severity, source: 'streamgauge' },
  };
}

export function grafanaRules() {
  return {
    apiVersion: 1,
    groups: [{ orgId: 1, name: RULE_GROUP, folder: ALERT_FOLDER, interval: EVAL_INTERVAL, rules: ALERT_RULES.map(grafanaRule) }],
  };
}

export function grafanaContactPoints() {
  return {
    apiVersion: 1,
    contactPoints: [
      {
        orgId: 1,
        name: CONTACT_POINT,
        receivers: [
          {
            uid: 'streamgauge-collector-webhook',
            type: 'webhook',
            disableResolveMessage: false,
            settings: {
              url: WEBHOOK_URL,
              httpMethod: 'POST',
              // Grafana interpolates environment variables in provisioning files; the same key the
              // data source uses, so the collector sees the alerts as coming from Grafana.
              authorization_scheme: 'Bearer',
              authorization_credentials: '$SG_GRAFANA_API_KEY',
            },
          },
        ],
      },
    ],
  };
}

export function grafanaPolicies() {
  return {
    apiVersion: 1,
    policies: [
      {
        orgId: 1,
        receiver: CONTACT_POINT,
        group_by: ['grafana_folder', 'alertname'],
        group_wait: '10s',
        group_interval: '1m',
        repeat_interval: '4h',
        routes: [{ receiver: CONTACT_POINT, object_matchers: [['severity', '=', 'critical']], group_wait: '0s' }],
      },
    ],
  };
}

export function prometheusRules() {
  return {
    groups: [
      {
        name: RULE_GROUP,
        interval: EVAL_INTERVAL,
        rules: ALERT_RULES.map((r) => ({
          alert: r.alert,
          expr: prometheusExpr(r),
          for: r.for,
          labels: { severity: r.severity, source: 'streamgauge' },
          annotations: { summary: r.summary, grafana_uid: r.uid },
        })),
      },
    ],
  };
}
