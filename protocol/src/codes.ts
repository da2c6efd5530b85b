/**
 * Every code the collector can answer with, in one place, so that the collector,
 * the plugin, the SDK and docs/protocol.md agree. Codes are stable: never reuse
 * or renumber one; add new ones at the end.
 */

/** WebSocket close codes (RFC 6455 section 7.4.2 reserves 4000-4999 for applications). */
export const CloseCode = {
  /** Normal closure, asked for by the client. */
  Normal: 1000,
  /** The collector is shutting down or restarting: reconnect and resume. */
  GoingAway: 1001,
  /** A client frame was larger than `ws.maxPayloadBytes` (set by the ws library). */
  MessageTooBig: 1009,
  /** The client's send queue went over `ws.maxQueueBytes`: it reads too slowly. Reconnect and resume. */
  SlowConsumer: 4008,
  /** No pong within `ws.heartbeatTimeoutMs` after a ping. */
  HeartbeatTimeout: 4009,
  /** Authentication failed or the token expired without refresh. Do not retry with the same credentials. */
  Unauthorized: 4401,
  /** The client sent more frames per second than `limits.wsMessagesPerSecond` allows, persistently. */
  RateLimited: 4429,
  /** The collector is at `ws.maxConnections`. Retry later with backoff. */
  TooManyConnections: 4503,
  /** The event store is unavailable (Redis down): reconnect with backoff and resume. */
  StoreUnavailable: 4504,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Error codes carried by `{"type":"error"}` frames and by REST error bodies
 * (`{"error":{"code","message"}}`). The HTTP status used by REST is in ERROR_HTTP_STATUS.
 */
export const ErrorCode = {
  BadJson: 'SG_BAD_JSON',
  /** A JSON body nested deeper than limits.maxJsonDepth. */
  JsonTooDeep: 'SG_JSON_TOO_DEEP',
  BadRequest: 'SG_BAD_REQUEST',
  UnknownOp: 'SG_UNKNOWN_OP',
  UnknownChannel: 'SG_UNKNOWN_CHANNEL',
  BadChannelName: 'SG_BAD_CHANNEL_NAME',
  SchemaMismatch: 'SG_SCHEMA_MISMATCH',
  PayloadTooLarge: 'SG_PAYLOAD_TOO_LARGE',
  BatchTooLarge: 'SG_BATCH_TOO_LARGE',
  ChannelLimit: 'SG_CHANNEL_LIMIT',
  /** A state or entity channel holds channels.maxKeysPerChannel live keys: update or delete existing keys. */
  KeyLimit: 'SG_KEY_LIMIT',
  SubscriptionLimit: 'SG_SUBSCRIPTION_LIMIT',
  AlreadySubscribed: 'SG_ALREADY_SUBSCRIBED',
  NotSubscribed: 'SG_NOT_SUBSCRIBED',
  OriginForbidden: 'SG_ORIGIN_FORBIDDEN',
  /** The Host header names no host this collector serves (DNS rebinding defence, auth.allowedHosts). */
  HostForbidden: 'SG_HOST_FORBIDDEN',
  TooManyConnections: 'SG_TOO_MANY_CONNECTIONS',
  Unauthorized: 'SG_UNAUTHORIZED',
  Forbidden: 'SG_FORBIDDEN',
  RateLimited: 'SG_RATE_LIMITED',
  StoreUnavailable: 'SG_STORE_UNAVAILABLE',
  NotFound: 'SG_NOT_FOUND',
  UnsupportedMediaType: 'SG_UNSUPPORTED_MEDIA_TYPE',
  Internal: 'SG_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_HTTP_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  SG_BAD_JSON: 400,
  SG_JSON_TOO_DEEP: 400,
  SG_BAD_REQUEST: 400,
  SG_UNKNOWN_OP: 400,
  SG_UNKNOWN_CHANNEL: 404,
  SG_BAD_CHANNEL_NAME: 400,
  SG_SCHEMA_MISMATCH: 422,
  SG_PAYLOAD_TOO_LARGE: 413,
  SG_BATCH_TOO_LARGE: 413,
  SG_CHANNEL_LIMIT: 409,
  SG_KEY_LIMIT: 409,
  SG_SUBSCRIPTION_LIMIT: 409,
  SG_ALREADY_SUBSCRIBED: 409,
  SG_NOT_SUBSCRIBED: 409,
  SG_ORIGIN_FORBIDDEN: 403,
  SG_HOST_FORBIDDEN: 403,
  SG_TOO_MANY_CONNECTIONS: 503,
  SG_UNAUTHORIZED: 401,
  SG_FORBIDDEN: 403,
  SG_RATE_LIMITED: 429,
  SG_STORE_UNAVAILABLE: 503,
  SG_NOT_FOUND: 404,
  SG_UNSUPPORTED_MEDIA_TYPE: 415,
  SG_INTERNAL: 500,
});
