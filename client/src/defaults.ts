/** Every option of the client core, with its default and unit (docs/plugin.md, docs/sdk.md). */
export const CLIENT_DEFAULTS = {
  /** First reconnect delay ceiling, ms (full jitter below it). */
  minReconnectDelayMs: 250,
  /** Reconnect delay ceiling, ms. */
  maxReconnectDelayMs: 15_000,
  /** Application ping after this long without a frame, ms (browsers cannot send protocol pings). */
  heartbeatIntervalMs: 10_000,
  /** A connection with no frame for this long after a ping is dead, ms. */
  heartbeatTimeoutMs: 5_000,
  /** Time for the socket to open and say welcome (and auth_ok with a token), ms. */
  connectTimeoutMs: 10_000,
  /** Consecutive failed WebSocket attempts before polling REST (only when REST works). */
  fallbackAfterFailures: 3,
  /** REST polling interval in fallback mode, ms. */
  pollIntervalMs: 1_000,
  /** While polling, how often WebSocket is tried again, ms. */
  wsRetryIntervalMs: 15_000,
  /** Messages per REST page (hole filling and polling); the collector caps it at limits.historyMaxLimit. */
  pageSize: 1_000,
  /** Messages queued per listener while its hole is filled; beyond it the queue is dropped and refilled. */
  maxQueuedPerListener: 50_000,
  /** After the last subscription goes, the socket stays open this long (a query edit re-subscribes at once), ms. */
  idleCloseMs: 5_000,
  /** Refresh the token when this fraction of its lifetime has passed. */
  tokenRefreshFraction: 0.8,
};
export type ClientDefaults = typeof CLIENT_DEFAULTS;
