/**
 * The collector's own Prometheus metrics, in its own Registry (never prom-client's global one).
 * Labels stay low-cardinality: a channel's namespace (first segment), a transport, a reason;
 * never a full channel name or a client id. Point-in-time values are read at scrape time.
 *
 * Counters start at 0 for every label set known when the collector starts (the transports, the
 * refusal and drop reasons, and each namespace declared by config or a source: knowNamespaces).
 * A series that first appears at 1 has no earlier sample, so PromQL's increase() and rate() miss
 * that first event (prometheus/rules.test.yml models the series from a real scrape accordingly).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The streaming transports, as used in `transport` labels. */
export const TRANSPORTS = ['ws', 'sse'] as const;
/** `reason` of streamgauge_connections_refused_total, per transport (transport/ws-server.ts, sse.ts). */
export const REFUSAL_REASONS: Record<(typeof TRANSPORTS)[number], readonly string[]> = {
  ws: ['path', 'shutdown', 'origin', 'rate', 'auth', 'limit'],
  sse: ['origin', 'limit'],
};
/** `reason` of streamgauge_messages_dropped_total (hub/hub.ts). */
export const DROP_REASONS = ['slow_consumer'] as const;

export interface CoreMetrics {
  registry: Registry;
  published: Counter<'namespace'>;
  delivered: Counter<'namespace' | 'transport'>;
  dropped: Counter<'namespace' | 'reason'>;
  publishToSend: Histogram<'transport'>;
  slowDisconnects: Counter<'transport'>;
  wsErrors: Counter<'code'>;
  httpErrors: Counter<'code'>;
  evictions: Counter<'namespace'>;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  connectionsRefused: Counter<'transport' | 'reason'>;
  /**
   * Exposes the per-namespace counters at 0 for these namespaces (channel names' first segment).
   * Idempotent, and a no-op for series that already counted something. app.ts calls it with every
   * channel known at start: declared in config, restored from the log, declared by sources.
   */
  knowNamespaces(namespaces: Iterable<string>): void;
}

/** Values read at scrape time from the running app. */
export interface ScrapeSources {
  clients(): { ws: number; sse: number };
  subscriptions(): number;
  queuedBytes(): number;
  channels(): number;
  logMessages(): number;
  logSizeBytes(): number | null;
  storeUp(): boolean;
}

export function createCoreMetrics(registry = new Registry()): CoreMetrics & { bind(sources: ScrapeSources): void } {
  let sources: ScrapeSources | undefined;
  const r = [registry];

  const published = new Counter({
    name: 'streamgauge_messages_published_total',
    help: 'Messages accepted into the log, by channel namespace.',
    labelNames: ['namespace'],
    registers: r,
  });
  const delivered = new Counter({
    name: 'streamgauge_messages_delivered_total',
    help: 'Messages written to subscribers, by channel namespace and transport.',
    labelNames: ['namespace', 'transport'],
    registers: r,
  });
  const dropped = new Counter({
    name: 'streamgauge_messages_dropped_total',
    help: 'Messages not delivered to a subscriber that wanted them (slow consumer closed, client gone).',
    labelNames: ['namespace', 'reason'],
    registers: r,
  });
  const publishToSend = new Histogram({
    name: 'streamgauge_publish_to_send_seconds',
    help: 'Time from a message being accepted to its frame being written to a subscriber socket.',
    labelNames: ['transport'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: r,
  });
  const slowDisconnects = new Counter({
    name: 'streamgauge_slow_client_disconnects_total',
    help: 'Clients closed because their send queue went over its limit (WebSocket close code 4008).',
    labelNames: ['transport'],
    registers: r,
  });
  const wsErrors = new Counter({
    name: 'streamgauge_ws_errors_total',
    help: 'Error frames and refusals sent to WebSocket clients, by error code.',
    labelNames: ['code'],
    registers: r,
  });
  const httpErrors = new Counter({
    name: 'streamgauge_http_errors_total',
    help: 'REST error responses, by error code.',
    labelNames: ['code'],
    registers: r,
  });
  const evictions = new Counter({
    name: 'streamgauge_log_evictions_total',
    help: 'Messages removed from the log by retention, by channel namespace.',
    labelNames: ['namespace'],
    registers: r,
  });
  const httpDuration = new Histogram({
    name: 'streamgauge_http_request_duration_seconds',
    help: 'HTTP request durations by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: r,
  });
  const connectionsRefused = new Counter({
    name: 'streamgauge_connections_refused_total',
    help: 'Connections refused at upgrade or open, by transport and reason (origin, limit, auth).',
    labelNames: ['transport', 'reason'],
    registers: r,
  });

  new Gauge({
    name: 'streamgauge_clients',
    help: 'Connected streaming clients, by transport.',
    labelNames: ['transport'],
    registers: r,
    collect() {
      const c = sources?.clients() ?? { ws: 0, sse: 0 };
      this.set({ transport: 'ws' }, c.ws);
      this.set({ transport: 'sse' }, c.sse);
    },
  });
  new Gauge({
    name: 'streamgauge_subscriptions',
    help: 'Active channel subscriptions over all clients.',
    registers: r,
    collect() {
      this.set(sources?.subscriptions() ?? 0);
    },
  });
  new Gauge({
    name: 'streamgauge_send_queue_bytes',
    help: 'Bytes queued for sending over all streaming clients.',
    registers: r,
    collect() {
      this.set(sources?.queuedBytes() ?? 0);
    },
  });
  new Gauge({
    name: 'streamgauge_channels',
    help: 'Channels known to the collector.',
    registers: r,
    collect() {
      this.set(sources?.channels() ?? 0);
    },
  });
  new Gauge({
    name: 'streamgauge_log_messages',
    help: 'Messages kept in the log over all channels.',
    registers: r,
    collect() {
      this.set(sources?.logMessages() ?? 0);
    },
  });
  new Gauge({
    name: 'streamgauge_log_size_bytes',
    help: 'Size of the log store (SQLite file and WAL).',
    registers: r,
    collect() {
      this.set(sources?.logSizeBytes() ?? 0);
    },
  });
  new Gauge({
    name: 'streamgauge_store_up',
    help: '1 when the event store answers, 0 when it does not (readiness follows it).',
    registers: r,
    collect() {
      this.set(sources?.storeUp() ? 1 : 0);
    },
  });

  // Label sets known from the start: each series exists at 0 before its first event.
  for (const transport of TRANSPORTS) {
    slowDisconnects.inc({ transport }, 0);
    publishToSend.zero({ transport });
    for (const reason of REFUSAL_REASONS[transport]) {
      connectionsRefused.inc({ transport, reason }, 0);
    }
  }
  const knownNamespaces = new Set<string>();
  const knowNamespaces = (namespaces: Iterable<string>): void => {
    for (const namespace of namespaces) {
      if (knownNamespaces.has(namespace)) {
        continue;
      }
      knownNamespaces.add(namespace);
      published.inc({ namespace }, 0);
      evictions.inc({ namespace }, 0);
      for (const transport of TRANSPORTS) {
        delivered.inc({ namespace, transport }, 0);
      }
      for (const reason of DROP_REASONS) {
        dropped.inc({ namespace, reason }, 0);
      }
    }
  };

  return {
    registry,
    published,
    delivered,
    dropped,
    publishToSend,
    slowDisconnects,
    wsErrors,
    httpErrors,
    evictions,
    httpDuration,
    connectionsRefused,
    knowNamespaces,
    bind(s: ScrapeSources) {
      sources = s;
    },
  };
}
