/**
 * buildApp() assembles the collector and never listens: main.ts does that, and tests use
 * app.inject() or listen on port 0. Everything started here is stopped by close().
 */
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import { ErrorCode, channelNamespace } from '@streamgauge/protocol';
import { ChannelRegistry } from './channels/channel-registry';
import type { Config } from './collector-config';
import { SgError, sgError } from './errors';
import type { Authenticator } from './auth/principal';
import { createSecurity, type Security } from './auth/create-security';
import { mountMetrics } from './http/metrics-server';
import { capConnectionsPerIp, httpServerOptions } from './limits/http-server-limits';
import { registerSecurityRoutes } from './http/token-routes';
import { securityHeadersHook } from './auth/security-headers';
import { Hub } from './hub/hub';
import { registerChannelRoutes } from './http/channel-routes';
import { registerHealthRoutes } from './http/health-routes';
import { registerPublishRoute } from './http/publish-route';
import { installAuthorization, type RouteEntry } from './http/authorize';
import { registerBodyParsers } from './http/body-parsers';
import { installArrivalOrder } from './http/arrival-order';
import { createEventLog } from './log/create-event-log';
import type { EventLog } from './log/event-log';
import { createLogger, type Logger } from './logger';
import { createCoreMetrics, type CoreMetrics } from './metrics/core-metrics';
import { registerProcessMetrics } from './metrics/process-metrics';
import { createSources, type Source, type SourceContext } from './sources';
import { registerSse } from './transport/sse';
import { corsHeaders } from './transport/origin';
import { attachWebSocketServer, type WsServerHandle } from './transport/ws-server';
import { registerTelemetryRoutes } from './telemetry/routes';
import { createTelemetry } from './telemetry/telemetry-engine';
import { createOwnership } from './cluster/create-ownership';
import { ownedSource } from './cluster/owned-source';

export interface BuildOptions {
  logger?: Logger;
  /** Replaces the sources the config asks for (tests). */
  sources?: Source[];
  /** Replaces the event log the config asks for (tests). */
  log?: EventLog;
}

export interface StreamgaugeApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly hub: Hub;
  readonly registry: ChannelRegistry;
  readonly log: EventLog;
  readonly metrics: CoreMetrics;
  readonly logger: Logger;
  readonly auth: Authenticator;
  readonly security: Security;
  /** Every HTTP route with the access it declares (http/route-access.ts). */
  readonly routes: readonly RouteEntry[];
  /** Serves /metrics alone when auth.metrics.port is set; main.ts listens on it. */
  readonly metricsApp?: FastifyInstance;
  /** Starts sources (chains, demo traffic) and timers; call after listen. Resolves when all started. */
  start(): Promise<void>;
  /** Stops accepting, closes clients with 1001, stops sources, flushes and closes the log. */
  close(): Promise<void>;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<StreamgaugeApp> {
  const logger = options.logger ?? createLogger(config.log.level);
  const metrics = createCoreMetrics();
  const stopProcessMetrics = config.metrics.process ? registerProcessMetrics(metrics.registry) : () => undefined;
  const log = options.log ?? createEventLog(config, logger);
  const registry = new ChannelRegistry(
    { maxMessages: config.retention.maxMessages, maxAgeSeconds: config.retention.maxAgeSeconds },
    config.channels.maxInferredFields,
    log,
  );
  const security = createSecurity(config, logger, metrics.registry);
  const auth = security.auth;

  const metas = await log.open();
  const hub = new Hub({
    log,
    registry,
    metrics,
    autoCreate: config.channels.autoCreate,
    maxChannels: config.channels.maxChannels,
    maxMessageBytes: config.limits.maxMessageBytes,
    maxBatch: config.limits.maxBatch,
    maxInferredFields: config.channels.maxInferredFields,
    replayPageSize: config.ws.replayPageSize,
    logger,
    maxTtlSeconds: config.telemetry.maxTtlSeconds,
  });
  const defs = new Map(config.channels.definitions.map((d) => [d.name, d]));
  for (const meta of metas) {
    const c = registry.upsert(meta, defs.get(meta.name) as never);
    // Inferred schemas are not stored: infer again from the newest message kept.
    if (!c.schema.declared) {
      const { messages } = await log.read(c.name, { limit: 1, tail: true });
      if (messages[0]) {
        c.lastItem = messages[0].item;
        c.lastItemOffset = messages[0].offset;
        registry.addFields(c, registry.check(c, JSON.parse(messages[0].data)).added);
      }
    }
  }
  for (const d of config.channels.definitions) {
    await hub.declare(d as never);
  }
  // Application telemetry (issue 4): metric rules, entity TTL and aggregates, alerts channel.
  // Derived work (telemetry, sources) runs on one instance at a time: docs/scaling.md.
  const ownership = createOwnership(config, logger, metrics.registry);
  const telemetry = await createTelemetry({
    config,
    ownership,
    ctx: {
      declare: async (def) => {
        await hub.declare(def);
      },
      publish: (items, ifExpiresAt) => hub.publish(items, undefined, ifExpiresAt),
      onAppend: (listener) => hub.onAppend(listener),
      channel: (name) => registry.get(name),
      channels: () => registry.all(),
      latestByKey: (channel) => log.latestByKey(channel),
      read: (channel, options) => log.read(channel, options),
      dueExpiries: (now, limit) => log.dueExpiries(now, limit),
      logger,
      metrics: metrics.registry,
    },
  });

  const app = Fastify({
    loggerInstance: logger,
    // One log line per request is too much at thousands of publishes per second; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.maxBodyBytes,
    // Channel names contain '/', so they travel in query strings; keep them readable in logs.
    routerOptions: { ignoreTrailingSlash: true },
    // Slow and idle connections: headers, request and keep-alive timeouts (auth.limits.http*).
    ...httpServerOptions(config.auth.limits),
    // req.ip is the forwarded client only behind a listed proxy (auth.limits.trustedProxies).
    trustProxy: (address: string) => security.proxyTrust.trusts(address),
  });
  const stopConnectionCap = capConnectionsPerIp(app.server, config.auth.limits.httpConnectionsPerIp, security.proxyTrust, security.metrics);

  // Publishes are JSON or NDJSON: without fastify's default text/plain parser a text/plain body is
  // answered 415 SG_UNSUPPORTED_MEDIA_TYPE, not a misleading 400.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((err: FastifyError | SgError, req, reply) => {
    let e: SgError;
    if (err instanceof SgError) {
      e = err;
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      e = sgError(ErrorCode.PayloadTooLarge, `request body exceeds limits.maxBodyBytes (${config.limits.maxBodyBytes} bytes)`);
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      e = sgError(
        ErrorCode.UnsupportedMediaType,
        `unsupported Content-Type ${req.headers['content-type']}; use application/json or application/x-ndjson`,
      );
    } else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) {
      e = sgError(ErrorCode.BadJson, `body is not valid JSON: ${err.message}`);
    } else if (err.validation) {
      e = sgError(ErrorCode.BadRequest, err.message);
    } else if (err.statusCode && err.statusCode < 500) {
      e = sgError(ErrorCode.BadRequest, err.message);
    } else {
      req.log.error({ err }, 'request failed');
      e = sgError(ErrorCode.Internal, 'internal error');
    }
    metrics.httpErrors.inc({ code: e.code });
    void reply.code(e.statusCode).send(e.toBody());
  });
  app.setNotFoundHandler((req, reply) => {
    metrics.httpErrors.inc({ code: ErrorCode.NotFound });
    void reply.code(404).send(sgError(ErrorCode.NotFound, `no route ${req.method} ${req.url.split('?')[0]}`).toBody());
  });

  // First onRequest hook, before any await: each request takes its place in its connection's line,
  // so that pipelined publishes are stored in the order they were sent (docs/protocol.md).
  installArrivalOrder(app, config.limits.maxRequestsInFlightPerConnection);
  // JSON and NDJSON bodies: counted and depth-checked while parsed, without holding the event loop.
  registerBodyParsers(app, config.limits);
  // Who may call which route: decided on the matched route's declared access, default deny (docs/security.md).
  const authorization = installAuthorization(app, security);
  app.addHook('onSend', securityHeadersHook);
  app.addHook('onSend', async (req, reply) => {
    for (const [k, v] of Object.entries(corsHeaders(req.headers.origin, config.ws.allowedOrigins))) {
      void reply.header(k, v);
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.httpDuration.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  let ready = false;
  let closing = false;
  const startedAt = Date.now();
  const sse = registerSse(app, {
    config: config.sse,
    allowedOrigins: config.ws.allowedOrigins,
    maxSubscriptions: config.ws.maxSubscriptionsPerConnection,
    hub,
    metrics,
    auth,
    logger,
    admit: (req, reply) => security.admitSse(req, reply),
  });
  let ws: WsServerHandle | undefined;
  registerPublishRoute(app, hub);
  registerSecurityRoutes(app, security);
  registerTelemetryRoutes(app, { config, hub, registry, log });
  registerHealthRoutes(app, { ready: () => ready && !closing && log.healthy() });
  registerChannelRoutes(app, {
    registry,
    log,
    historyMaxLimit: config.limits.historyMaxLimit,
    status: (visible) => {
      const now = Date.now();
      return {
        instance: config.server.instanceName || undefined,
        uptimeSeconds: Math.round((now - startedAt) / 1000),
        store: { type: config.store.type, healthy: log.healthy(), sizeBytes: log.sizeBytes() },
        clients: { ws: ws?.clients() ?? 0, sse: sse.clients() },
        subscriptions: hub.subscriptions,
        channels: [...registry.all()]
          .filter((c) => visible(c.name))
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((c) => ({
            name: c.name,
            kind: c.kind,
            lastOffset: c.lastOffset,
            lastTs: c.lastTs,
            rate: registry.rate(c, now),
            last: c.lastItem ? JSON.parse(c.lastItem) : null,
          })),
      };
    },
  });
  // auth.metrics: a bearer token and/or a port of its own (docs/security.md).
  const metricsApp = config.metrics.enabled ? mountMetrics(app, config, metrics.registry, logger, security.metrics) : undefined;

  ws = attachWebSocketServer(app.server, {
    config: config.ws,
    hub,
    metrics,
    auth,
    admit: (req) => security.admitWebSocket(req),
    frameLimiter: () => security.guard.frameLimiter(),
    authTimeoutMs: config.auth.limits.authTimeoutMs,
    logger,
    serverName: `streamgauge-collector/${process.env.npm_package_version ?? '0.1.0'}`,
  });
  metrics.bind({
    clients: () => ({ ws: ws?.clients() ?? 0, sse: sse.clients() }),
    subscriptions: () => hub.subscriptions,
    queuedBytes: () => (ws?.queuedBytes() ?? 0) + sse.queuedBytes(),
    channels: () => registry.size,
    logMessages: () => [...registry.all()].reduce((n, c) => n + c.count, 0),
    logSizeBytes: () => log.sizeBytes(),
    storeUp: () => log.healthy(),
  });

  const stops: (() => Promise<void> | void)[] = [];
  stops.push(() => ownership.stop());
  stops.push(() => telemetry.stop());
  stops.push(stopConnectionCap);
  const sources = (options.sources ?? createSources(config)).map((s) => ownedSource(s, ownership, logger));
  // Aborted first on close, so that sources stop publishing before the log closes.
  const sourcesStopped = new AbortController();
  stops.push(() => sourcesStopped.abort());
  const ctx = sourceContext(hub, log, config, logger, metrics, sourcesStopped.signal);

  app.addHook('preClose', async () => {
    closing = true;
    await ws?.close(config.server.shutdownTimeoutMs);
    sse.close();
  });
  app.addHook('onClose', async () => {
    for (const stop of stops.reverse()) {
      await stop();
    }
    stopProcessMetrics();
    await log.close();
  });

  const retention = async (): Promise<void> => {
    const evictions = await log.enforceRetention((name) => registry.get(name)?.retention ?? config.retention, Date.now());
    for (const ev of evictions) {
      metrics.evictions.inc({ namespace: channelNamespace(ev.channel) }, ev.evicted);
    }
  };
  // Count retention also runs as soon as a channel passes its bound by 10 %, so that a fast channel
  // is trimmed in small steps instead of one long delete that would stall the event loop.
  let trimScheduled = false;
  hub.onAppend((c) => {
    if (!trimScheduled && c.count > c.retention.maxMessages * 1.1 + 10) {
      trimScheduled = true;
      setImmediate(() => {
        retention()
          .catch((err: unknown) => logger.error({ err }, 'retention failed'))
          .finally(() => {
            trimScheduled = false;
          });
      });
    }
  });

  return {
    app,
    config,
    hub,
    registry,
    log,
    metrics,
    logger,
    auth,
    security,
    routes: authorization.routes,
    metricsApp,
    async start() {
      const timer = setInterval(() => {
        retention().catch((err: unknown) => logger.error({ err }, 'retention failed'));
      }, config.retention.checkIntervalMs);
      timer.unref();
      stops.push(() => clearInterval(timer));
      await retention();
      // Counters at 0 for every namespace known at start (core-metrics.ts: first events count);
      // sources add theirs when they declare their channels (sourceContext).
      const knowChannels = () => metrics.knowNamespaces([...registry.all()].map((c) => channelNamespace(c.name)));
      knowChannels();
      for (const s of sources) {
        try {
          stops.push(await s.start(ctx));
          logger.info({ source: s.name }, 'source started');
        } catch (err) {
          // A source that cannot start leaves the collector serving everything else (degraded state).
          logger.error({ err, source: s.name }, 'source failed to start');
        }
      }
      knowChannels();
      ready = true;
    },
    async close() {
      await app.close();
    },
  };
}

/** The narrow context sources get (HELPERS.md): their channels, not the hub, the log or the whole config. */
function sourceContext(hub: Hub, log: EventLog, config: Config, logger: Logger, metrics: CoreMetrics, signal: AbortSignal): SourceContext {
  return {
    async declare(def) {
      await hub.declare(def);
      // A source's namespace is known from its declaration on: its counters start at 0 (core-metrics.ts).
      metrics.knowNamespaces([channelNamespace(def.name)]);
    },
    publish: (items) => hub.publish(items),
    read: (channel, options) => log.read(channel, options),
    resetEpoch: (channel) => hub.resetEpoch(channel),
    maxBatch: config.limits.maxBatch,
    logger,
    metrics: metrics.registry,
    signal,
  };
}

export { SgError };
