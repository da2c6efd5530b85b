/**
 * Turns a Grafana or Alertmanager webhook body into rows of the alerts channel. Both send
 * `{status, alerts: [{status, labels, annotations, startsAt, endsAt, fingerprint, generatorURL}]}`;
 * Grafana adds orgId, title, state, message (and per alert values, dashboardURL…), Alertmanager
 * sends version "4". Formats: https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/
 * and https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
 */
import { createHash } from 'node:crypto';
import { ErrorCode } from '@streamgauge/protocol';
import { sgError } from '../errors';

export type AlertSource = 'grafana' | 'alertmanager';

export interface AlertRow {
  fingerprint: string;
  alertname: string;
  status: 'firing' | 'resolved';
  severity: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  summary: string | null;
  startsAt: string | null;
  endsAt: string | null;
  source: AlertSource;
  generatorURL: string | null;
  receiver: string | null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Grafana's webhook carries orgId/title/state; Alertmanager's does not (and says version "4"). */
export function detectSource(body: Record<string, unknown>): AlertSource {
  if ('orgId' in body || 'title' in body || 'state' in body || 'message' in body) {
    return 'grafana';
  }
  return 'alertmanager';
}

function stringMap(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null) {
    return {};
  }
  if (!isObject(v)) {
    throw sgError(ErrorCode.BadRequest, `${where}: must be an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') {
      throw sgError(ErrorCode.BadRequest, `${where}.${k}: must be a string, got ${x === null ? 'null' : typeof x}`);
    }
    out[k] = x;
  }
  return out;
}

/** ISO time, or null for absent and for Alertmanager's "0001-01-01T00:00:00Z" (no end yet). */
function timeOrNull(v: unknown, where: string): string | null {
  if (v === undefined || v === null || v === '') {
    return null;
  }
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) {
    throw sgError(ErrorCode.BadRequest, `${where}: must be an RFC 3339 time, got ${JSON.stringify(v)}`);
  }
  return t <= 0 ? null : new Date(t).toISOString();
}

/** Stable id of an alert from its labels, when the sender gave none (same idea as Alertmanager's). */
export function labelsFingerprint(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join('\u0001');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Validates the whole body first (all or nothing), then returns one row per alert. */
export function parseAlertWebhook(body: unknown, maxAlerts: number, forced?: AlertSource): AlertRow[] {
  if (!isObject(body)) {
    throw sgError(ErrorCode.BadRequest, 'body must be a Grafana or Alertmanager webhook payload: {"status","alerts":[…]}');
  }
  if (!Array.isArray(body.alerts)) {
    throw sgError(ErrorCode.BadRequest, 'alerts: required, an array of alerts ({"status","labels","annotations","startsAt",…})');
  }
  if (body.alerts.length > maxAlerts) {
    throw sgError(
      ErrorCode.BatchTooLarge,
      `alerts: at most ${maxAlerts} per request (telemetry.alerts.maxAlertsPerRequest), got ${body.alerts.length}`,
    );
  }
  const source = forced ?? detectSource(body);
  const receiver = typeof body.receiver === 'string' ? body.receiver : null;
  return body.alerts.map((a: unknown, i: number): AlertRow => {
    const where = `alerts[${i}]`;
    if (!isObject(a)) {
      throw sgError(ErrorCode.BadRequest, `${where}: must be an object`);
    }
    const status = a.status ?? body.status;
    if (status !== 'firing' && status !== 'resolved') {
      throw sgError(ErrorCode.BadRequest, `${where}.status: must be "firing" or "resolved", got ${JSON.stringify(status)}`);
    }
    if (!isObject(a.labels)) {
      throw sgError(ErrorCode.BadRequest, `${where}.labels: required, an object of strings (alertname, severity…)`);
    }
    const labels = stringMap(a.labels, `${where}.labels`);
    const annotations = stringMap(a.annotations, `${where}.annotations`);
    if (a.fingerprint !== undefined && (typeof a.fingerprint !== 'string' || a.fingerprint.length === 0 || a.fingerprint.length > 256)) {
      throw sgError(ErrorCode.BadRequest, `${where}.fingerprint: must be a string of 1-256 characters`);
    }
    const startsAt = timeOrNull(a.startsAt, `${where}.startsAt`);
    const endsAt = timeOrNull(a.endsAt, `${where}.endsAt`);
    return {
      fingerprint: (a.fingerprint as string | undefined) ?? labelsFingerprint(labels),
      alertname: labels.alertname ?? labels.__alert_rule_title__ ?? 'unnamed',
      status,
      severity: labels.severity ?? null,
      labels,
      annotations,
      summary: annotations.summary ?? annotations.description ?? null,
      startsAt,
      // A firing alert's endsAt is a forecast (Alertmanager sets it to now + resolve_timeout): keep it only once resolved.
      endsAt: status === 'resolved' ? endsAt : null,
      source,
      generatorURL: typeof a.generatorURL === 'string' ? a.generatorURL : null,
      receiver,
    };
  });
}
