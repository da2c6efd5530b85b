/**
 * JSON schema of the configuration file (after defaults are applied). `additionalProperties: false`
 * everywhere, so a misspelt option fails at startup instead of being silently ignored.
 * Feature sections (auth, evm, telemetry) bring their own schema (config/section.ts).
 */
import { int, strict, str } from './schema-builders';
import type { ConfigSection } from './section';

export const fieldSchema = strict(
  {
    name: { type: 'string', minLength: 1, maxLength: 128 },
    type: { enum: ['number', 'string', 'boolean', 'time', 'json'] },
    unit: str,
    description: str,
  },
  ['name', 'type'],
);

export const channelDefinitionSchema = strict(
  {
    name: str,
    kind: { enum: ['stream', 'state', 'entity'] },
    description: str,
    fields: { type: 'array', items: fieldSchema, maxItems: 256 },
    timeField: str,
    keyField: str,
    retention: strict({ maxMessages: int(1), maxAgeSeconds: int(1) }),
  },
  ['name'],
);

const coreProperties = {
  server: strict({
    host: str,
    port: int(0, 65535),
    shutdownTimeoutMs: int(0),
    instanceName: str,
  }),
  store: strict({
    type: { enum: ['sqlite', 'redis'] },
    path: str,
    publishIdWindow: int(1),
    redis: strict({
      urls: { type: 'array', items: { type: 'string', pattern: '^rediss?://' }, minItems: 1 },
      keyPrefix: str,
    }),
  }),
  retention: strict({ maxMessages: int(1), maxAgeSeconds: int(1), checkIntervalMs: int(100) }),
  channels: strict({
    autoCreate: { type: 'boolean' },
    maxChannels: int(1),
    maxInferredFields: int(1, 1024),
    maxKeysPerChannel: int(1),
    definitions: { type: 'array', items: channelDefinitionSchema },
  }),
  ws: strict({
    path: { type: 'string', pattern: '^/' },
    maxPayloadBytes: int(256, 64 * 1024 * 1024),
    maxQueueBytes: int(1024),
    heartbeatIntervalMs: int(100),
    heartbeatTimeoutMs: int(100),
    maxConnections: int(1),
    allowedOrigins: { type: 'array', items: str },
    maxSubscriptionsPerConnection: int(1),
    replayPageSize: int(1, 100_000),
  }),
  sse: strict({
    path: { type: 'string', pattern: '^/' },
    keepaliveMs: int(100),
    maxQueueBytes: int(1024),
    maxConnections: int(1),
  }),
  limits: strict({
    maxBodyBytes: int(1024),
    maxMessageBytes: int(64),
    maxBatch: int(1),
    maxJsonDepth: int(2, 1_000),
    historyMaxLimit: int(1),
    maxRequestsInFlightPerConnection: int(1, 1_000_000),
  }),
  metrics: strict({ enabled: { type: 'boolean' }, path: { type: 'string', pattern: '^/' }, process: { type: 'boolean' } }),
  demo: strict({ enabled: { type: 'boolean' }, intervalMs: int(10) }),
  log: strict({ level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] } }),
};

/** The whole schema: the core options and every section's own. */
export function configSchema(sections: readonly ConfigSection[]): object {
  return strict({ ...coreProperties, ...Object.fromEntries(sections.map((s) => [s.key, s.schema])) });
}
