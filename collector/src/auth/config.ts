/**
 * Authentication, rate limits and /metrics protection (docs/security.md documents every option).
 * With no keys the collector is open, and main.ts lets it listen only on loopback unless
 * `allowInsecure` is set.
 */
import { int, str, strict } from '../config/schema-builders';

export interface KeyScopesConfig {
  /** Channel names or patterns (`app/*`, `evm/**`, `**` for all) this key may publish to. */
  publish: string[];
  /** Channel names or patterns this key may subscribe to (WebSocket, SSE, REST history). */
  subscribe: string[];
  /** Admin actions: minting admin tokens, GET /api/v1/admin/keys. */
  admin: boolean;
}

export interface ApiKeyConfig {
  /** Shown in logs and metrics instead of the key; must be unique. */
  name: string;
  /** The key in clear text (avoid: prefer keyHash or keyEnv). */
  key?: string;
  /** sha256 of the key, hex (preferred: `printf %s "$KEY" | sha256sum`). */
  keyHash?: string;
  /** Name of an environment variable holding the key (resolved by config/load-config.ts). */
  keyEnv?: string;
  scopes: Partial<KeyScopesConfig>;
}

export interface TokensConfig {
  /** HS256 signs with `secret`; RS256/ES256 sign with `privateKeyFile` and verify with `publicKeyFile` (PEM). */
  algorithm: 'HS256' | 'RS256' | 'ES256';
  /** HS256 secret, at least 32 characters. Empty: a random one per process (tokens die with a restart). */
  secret: string;
  /** Name of an environment variable holding the HS256 secret (resolved by config/load-config.ts). */
  secretEnv: string;
  privateKeyFile: string;
  publicKeyFile: string;
  /** Longest token life a client may ask for, seconds. */
  maxTtlSeconds: number;
  /** Token life when the request does not say, seconds (capped by maxTtlSeconds). */
  defaultTtlSeconds: number;
  /** Life of a read token (POST /api/v1/read-token: subscribe-only, for browsers), seconds; also its cap. */
  readTokenTtlSeconds: number;
  /** `iss` claim written and required. */
  issuer: string;
  /** SSE stream tickets (POST /api/v1/stream-ticket) live this long, seconds, and work once. */
  ticketTtlSeconds: number;
  /** Unused tickets kept at most; beyond it minting fails with SG_RATE_LIMITED. */
  maxTickets: number;
  /** Unused tickets one key (or token subject) may hold; beyond it minting fails with SG_RATE_LIMITED. */
  maxTicketsPerKey: number;
}

export interface LimitsConfig {
  /** New WebSocket/SSE connections per client IP per second (refill rate); 0 turns the limit off. */
  connectionsPerIpPerSecond: number;
  /** Burst of new connections one IP may open at once. */
  connectionsPerIpBurst: number;
  /** Client IPs tracked at most by the per-IP limiter (least recently seen forgotten first). */
  maxTrackedIps: number;
  /** Frames one WebSocket client may send per second (refill rate); 0 turns the limit off. */
  wsMessagesPerSecond: number;
  /** Burst of frames one WebSocket client may send at once. */
  wsMessagesBurst: number;
  /** Frames refused in a row (rate limited) before the connection is closed with 4429. */
  wsMaxRefusedFrames: number;
  /** Publish requests per API key per second (not applied with auth off); 0 turns the limit off. */
  publishRequestsPerSecond: number;
  /** Burst of publish requests per key. */
  publishBurst: number;
  /** Keys tracked at most by the publish limiter (and by the ticket limiter). */
  maxTrackedPublishers: number;
  /** SSE tickets one key (or token subject) may mint per second (refill rate); 0 turns the limit off. */
  ticketsPerSecond: number;
  /** Burst of SSE tickets per key. */
  ticketsBurst: number;
  /** A WebSocket opened without credentials must send an `auth` frame within this time, or is closed with 4401. */
  authTimeoutMs: number;
  /** A client must send its request headers within this time after connecting or after its last request, or gets 408. */
  httpHeadersTimeoutMs: number;
  /** A client must send its whole request (headers and body) within this time, or gets 408 and is disconnected. */
  httpRequestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this time. */
  httpKeepAliveTimeoutMs: number;
  /** Open TCP connections one client IP may hold at once (HTTP, WebSocket, SSE); 0 turns the cap off. */
  httpConnectionsPerIp: number;
  /**
   * Addresses or CIDR ranges of proxies that speak for many clients (Grafana in proxy mode, a load
   * balancer): their X-Forwarded-For is believed for the per-IP rate limit, and the per-IP socket
   * cap does not apply to them (limits/trusted-proxies.ts). Empty: X-Forwarded-For is ignored.
   */
  trustedProxies: readonly string[];
}

export interface MetricsAuthConfig {
  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  bearerToken: string;
  /** Name of an environment variable holding the bearer token (resolved by config/load-config.ts). */
  bearerTokenEnv: string;
  /** When > 0, /metrics is served only on this port (not on the main one). */
  port: number;
  /** Address of the separate metrics listener; empty: server.host. */
  host: string;
}

export interface AuthConfig {
  /** Allow listening on a non-loopback address with no API keys configured. */
  allowInsecure: boolean;
  /**
   * Host names the HTTP Host header may carry (DNS rebinding), besides loopback names and server.host.
   * Checked with auth off always, with keys only when set. `*`: no check.
   */
  allowedHosts: string[];
  keys: ApiKeyConfig[];
  tokens: TokensConfig;
  limits: LimitsConfig;
  metrics: MetricsAuthConfig;
}

export const AUTH_DEFAULTS: AuthConfig = {
  allowInsecure: false,
  allowedHosts: [],
  keys: [],
  tokens: {
    algorithm: 'HS256',
    secret: '',
    secretEnv: '',
    privateKeyFile: '',
    publicKeyFile: '',
    maxTtlSeconds: 300,
    defaultTtlSeconds: 300,
    readTokenTtlSeconds: 60,
    issuer: 'streamgauge',
    ticketTtlSeconds: 30,
    maxTickets: 10_000,
    maxTicketsPerKey: 100,
  },
  limits: {
    connectionsPerIpPerSecond: 20,
    connectionsPerIpBurst: 50,
    maxTrackedIps: 10_000,
    wsMessagesPerSecond: 100,
    wsMessagesBurst: 200,
    wsMaxRefusedFrames: 100,
    publishRequestsPerSecond: 100,
    publishBurst: 200,
    maxTrackedPublishers: 10_000,
    ticketsPerSecond: 5,
    ticketsBurst: 20,
    authTimeoutMs: 10_000,
    httpHeadersTimeoutMs: 10_000,
    httpRequestTimeoutMs: 30_000,
    httpKeepAliveTimeoutMs: 72_000,
    httpConnectionsPerIp: 512,
    trustedProxies: [],
  },
  metrics: {
    bearerToken: '',
    bearerTokenEnv: '',
    port: 0,
    host: '',
  },
};

const num = (minimum: number) => ({ type: 'number', minimum });

export const authConfigSchema = strict({
  allowInsecure: { type: 'boolean' },
  allowedHosts: { type: 'array', maxItems: 1_000, items: { type: 'string', minLength: 1, maxLength: 255 } },
  keys: {
    type: 'array',
    maxItems: 10_000,
    items: strict(
      {
        name: { type: 'string', pattern: '^[A-Za-z0-9_.:@-]{1,64}$' },
        key: { type: 'string', minLength: 16 },
        keyHash: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
        keyEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
        scopes: strict({
          publish: { type: 'array', items: str },
          subscribe: { type: 'array', items: str },
          admin: { type: 'boolean' },
        }),
      },
      ['name', 'scopes'],
    ),
  },
  tokens: strict({
    algorithm: { enum: ['HS256', 'RS256', 'ES256'] },
    secret: str,
    secretEnv: str,
    privateKeyFile: str,
    publicKeyFile: str,
    maxTtlSeconds: int(1, 86_400),
    defaultTtlSeconds: int(1, 86_400),
    readTokenTtlSeconds: int(5, 3_600),
    issuer: { type: 'string', minLength: 1 },
    ticketTtlSeconds: int(1, 3_600),
    maxTickets: int(1),
    maxTicketsPerKey: int(1),
  }),
  limits: strict({
    connectionsPerIpPerSecond: num(0),
    connectionsPerIpBurst: int(1),
    maxTrackedIps: int(1),
    wsMessagesPerSecond: num(0),
    wsMessagesBurst: int(1),
    wsMaxRefusedFrames: int(1),
    publishRequestsPerSecond: num(0),
    publishBurst: int(1),
    maxTrackedPublishers: int(1),
    ticketsPerSecond: num(0),
    ticketsBurst: int(1),
    authTimeoutMs: int(100),
    httpHeadersTimeoutMs: int(100),
    httpRequestTimeoutMs: int(100),
    httpKeepAliveTimeoutMs: int(100),
    httpConnectionsPerIp: int(0),
    trustedProxies: { type: 'array', maxItems: 1_000, items: { type: 'string', minLength: 1, maxLength: 64 } },
  }),
  metrics: strict({
    bearerToken: str,
    bearerTokenEnv: str,
    port: int(0, 65_535),
    host: str,
  }),
});
