/** The one connection state of a data-source instance, shown to users on frames and in the editor. */
export enum ConnectionState {
  /** No subscription needs a connection (or it was closed after the last one went away). */
  Idle = 'idle',
  Connecting = 'connecting',
  /** WebSocket open, welcome (and auth_ok in direct mode) received. */
  Connected = 'connected',
  /** WebSocket lost: waiting for the next attempt (capped full-jitter backoff). */
  Reconnecting = 'reconnecting',
  /** WebSocket failed repeatedly: REST polling carries the subscriptions; WebSocket is retried periodically. */
  Polling = 'polling',
  /** dispose() was called. */
  Closed = 'closed',
}

export interface StateChange {
  newState: ConnectionState;
  oldState: ConnectionState;
  /** Why, for the notice shown to users (close code and reason, fetch error). */
  reason?: string;
}

/** Text for a panel notice; undefined when nothing is worth telling. */
export function describeState(s: ConnectionState, reason?: string, pollIntervalMs?: number): string | undefined {
  switch (s) {
    case ConnectionState.Reconnecting:
      return `Streamgauge: connection lost${reason ? ` (${reason})` : ''}; reconnecting and resuming from the last offset`;
    case ConnectionState.Polling:
      return `Streamgauge: WebSocket unavailable${reason ? ` (${reason})` : ''}; polling the REST API every ${pollIntervalMs ?? '?'} ms and retrying WebSocket`;
    default:
      return undefined;
  }
}
