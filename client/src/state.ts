/** The one connection state of a client, with its transitions emitted as `{newState, oldState}`. */
export const ConnectionState = {
  /** No subscription needs a connection (or it was closed after the last one went away). */
  Idle: 'idle',
  Connecting: 'connecting',
  /** WebSocket open, welcome (and auth_ok with a token) received: subscriptions are on the wire. */
  Connected: 'connected',
  /** WebSocket lost: waiting for the next attempt (capped full-jitter backoff). */
  Reconnecting: 'reconnecting',
  /** WebSocket failed repeatedly while REST works: REST polling carries the subscriptions; WebSocket is retried. */
  Polling: 'polling',
  /** close() was called. */
  Closed: 'closed',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

export interface StateChange {
  newState: ConnectionState;
  oldState: ConnectionState;
  /** Why (close code and reason, fetch error), for notices shown to users. */
  reason?: string;
}
