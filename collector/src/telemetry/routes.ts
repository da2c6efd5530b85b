/** The REST routes of application telemetry: the snapshot of state/entity channels and the alert webhook. */
import type { FastifyInstance } from 'fastify';
import type { ChannelRegistry } from '../channels/channel-registry';
import type { Config } from '../collector-config';
import type { Hub } from '../hub/hub';
import type { EventLog } from '../log/event-log';
import { registerAlertWebhook } from './alerts-webhook-route';
import { registerSnapshotRoute } from './snapshot-route';

export function registerTelemetryRoutes(
  app: FastifyInstance,
  o: { config: Config; hub: Hub; registry: ChannelRegistry; log: EventLog },
): void {
  registerSnapshotRoute(app, { ...o, maxLimit: o.config.limits.historyMaxLimit });
  if (o.config.telemetry.alerts.enabled) {
    registerAlertWebhook(app, o.hub, o.config.telemetry.alerts);
  }
}
