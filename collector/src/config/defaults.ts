/**
 * Every option with its default. docs/configuration.md documents each one; keep both together.
 * Sizes are bytes, durations milliseconds unless the name says seconds.
 */
export const DEFAULTS = {
  server: {
    /** Loopback by default: with no API keys configured the collector runs open only here (docs/security.md). */
    host: '127.0.0.1',
    port: 8080,
    /** Seconds to wait for clients and sources to close on SIGTERM before exiting anyway. */
    shutdownTimeoutMs: 10_000,
    /** Stamped into /api/v1/status and logs; Prometheus adds `instance` itself when scraping. */
    instanceName: '',
  },
  store: {
    /** sqlite (embedded, default) or redis (several instances, see docs/scaling.md). */
    type: 'sqlite' as 'sqlite' | 'redis',
    /** SQLite database file; `:memory:` keeps nothing across restarts. */
    path: './data/streamgauge.db',
    /** Publish ids are remembered for the newest this-many offsets of each channel (docs/protocol.md, idempotent publishes). */
    publishIdWindow: 10_000,
    redis: {
      /** One URL, or several to shard channels by a hash of their name. */
      urls: ['redis://127.0.0.1:6379'] as string[],
      keyPrefix: 'sg:',
    },
  },
  retention: {
    /** Messages kept per channel (the oldest are evicted first). */
    maxMessages: 10_000,
    /** Messages older than this are evicted. */
    maxAgeSeconds: 86_400,
    /** How often age-based eviction runs. */
    checkIntervalMs: 5_000,
  },
  channels: {
    /** Publishing to an unknown channel creates it (schema inferred from its first message). */
    autoCreate: true,
    /** Upper bound on channels in total; beyond it publishing to a new channel fails with SG_CHANNEL_LIMIT. */
    maxChannels: 1_000,
    /** Fields inferred per channel at most; later new fields are still stored and delivered. */
    maxInferredFields: 64,
    /** Live keys per state/entity channel at most (SQLite and Redis stores); a publish adding one more fails with SG_KEY_LIMIT. */
    maxKeysPerChannel: 100_000,
    definitions: [] as ChannelDefinition[],
  },
  ws: {
    path: '/ws',
    /** Largest client frame; larger ones close the connection with 1009. */
    maxPayloadBytes: 64 * 1024,
    /** Bytes queued for one client before it is closed with 4008 (slow consumer). */
    maxQueueBytes: 8 * 1024 * 1024,
    heartbeatIntervalMs: 25_000,
    heartbeatTimeoutMs: 10_000,
    /** Open WebSocket connections at most; the next is closed with 4503. */
    maxConnections: 10_000,
    /** Empty: only pages served from the collector's own host (Origin host == Host). `*`: any origin. */
    allowedOrigins: [] as string[],
    maxSubscriptionsPerConnection: 256,
    /** Messages read from the log per replay step. */
    replayPageSize: 1_000,
  },
  sse: {
    path: '/api/v1/stream',
    keepaliveMs: 15_000,
    maxQueueBytes: 8 * 1024 * 1024,
    maxConnections: 1_000,
  },
  limits: {
    /** Largest HTTP request body. */
    maxBodyBytes: 8 * 1024 * 1024,
    /** Largest single message (`data` serialized). */
    maxMessageBytes: 64 * 1024,
    /** Messages in one publish request at most (and items in any array at the top two levels of a JSON body). */
    maxBatch: 10_000,
    /** Deepest nesting of arrays and objects in a JSON body (SG_JSON_TOO_DEEP). */
    maxJsonDepth: 64,
    /** Largest `limit` a history request may ask for. */
    historyMaxLimit: 10_000,
    /**
     * Requests other than GET/HEAD/OPTIONS in flight at once on one connection (pipelined HTTP/1.1);
     * the next is refused with 429 SG_RATE_LIMITED. Node's HTTP server itself does not bound them.
     */
    maxRequestsInFlightPerConnection: 1_024,
  },
  metrics: {
    enabled: true,
    path: '/metrics',
    /** Include process metrics (memory, CPU, event-loop lag) under names promtool accepts. */
    process: true,
  },
  demo: {
    /** Built-in demo traffic (`npm start` turns it on). */
    enabled: false,
    intervalMs: 1_000,
  },
  log: {
    level: 'info' as 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent',
  },
};

export interface FieldDefinition {
  name: string;
  type: 'number' | 'string' | 'boolean' | 'time' | 'json';
  unit?: string;
  description?: string;
}

export interface ChannelDefinition {
  name: string;
  kind?: 'stream' | 'state' | 'entity';
  description?: string;
  fields?: FieldDefinition[];
  timeField?: string;
  keyField?: string;
  retention?: { maxMessages?: number; maxAgeSeconds?: number };
}
