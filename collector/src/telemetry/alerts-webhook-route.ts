/**
 * POST /api/v1/alerts/webhook: the receiver for Grafana contact points (type webhook) and
 * Alertmanager webhook_configs. Every alert becomes a row of alerts/active (key: fingerprint),
 * published atomically with the publish scope of the caller on that channel.
 * `?source=grafana|alertmanager` overrides the format detection.
 */
import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '@streamgauge/protocol';
import { sgError } from '../errors';
import type { Hub } from '../hub/hub';
import { principalOf } from '../auth/request-principal';
import { access } from '../http/route-access';
import { arrivalTurn } from '../http/arrival-order';
import { ALERTS_CHANNEL } from './alerts-channel';
import { type AlertSource, parseAlertWebhook } from './alert-payload';

export interface AlertWebhookResponse {
  accepted: number;
  firing: number;
  resolved: number;
  offsets: { channel: string; epoch: string; offset: number }[];
}

export function registerAlertWebhook(app: FastifyInstance, hub: Hub, o: { maxAlertsPerRequest: number }): void {
  app.post('/api/v1/alerts/webhook', access('publish', { limit: 'publish' }), async (req): Promise<AlertWebhookResponse> => {
    const q = req.query as Record<string, string | undefined>;
    if (q.source !== undefined && q.source !== 'grafana' && q.source !== 'alertmanager') {
      throw sgError(ErrorCode.BadRequest, `source must be grafana or alertmanager, got ${JSON.stringify(q.source)}`);
    }
    const rows = parseAlertWebhook(req.body, o.maxAlertsPerRequest, q.source as AlertSource | undefined);
    if (rows.length === 0) {
      return { accepted: 0, firing: 0, resolved: 0, offsets: [] };
    }
    const principal = principalOf(req);
    const offsets = await hub.publish(
      rows.map((r) => ({ channel: ALERTS_CHANNEL.name, data: { ...r } })),
      (c) => principal.canPublish(c),
      undefined,
      // Notifications pipelined on one connection are stored in the order Grafana sent them.
      arrivalTurn(req),
    );
    const firing = rows.filter((r) => r.status === 'firing').length;
    return { accepted: rows.length, firing, resolved: rows.length - firing, offsets };
  });
}
