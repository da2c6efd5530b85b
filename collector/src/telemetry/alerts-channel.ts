/**
 * The alerts state channel: one row per alert (key: fingerprint), kept up to date by
 * POST /api/v1/alerts/webhook from Grafana and Alertmanager notifications (docs/alerts-webhook.md).
 */
import type { ChannelDefinition } from '../config/defaults';

export const ALERTS_CHANNEL = {
  name: 'alerts/active',
  kind: 'state',
  keyField: 'fingerprint',
  description: 'Alerts received on /api/v1/alerts/webhook from Grafana and Alertmanager: firing or resolved.',
  fields: [
    { name: 'fingerprint', type: 'string' },
    { name: 'alertname', type: 'string' },
    { name: 'status', type: 'string', description: 'firing | resolved' },
    { name: 'severity', type: 'string' },
    { name: 'labels', type: 'json' },
    { name: 'annotations', type: 'json' },
    { name: 'summary', type: 'string' },
    { name: 'startsAt', type: 'time', description: 'Since when the alert fires' },
    { name: 'endsAt', type: 'time', description: 'When it resolved (null while firing)' },
    { name: 'source', type: 'string', description: 'grafana | alertmanager' },
    { name: 'generatorURL', type: 'string' },
    { name: 'receiver', type: 'string' },
  ],
} as const satisfies ChannelDefinition;
