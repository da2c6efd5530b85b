/**
 * The connection state is the client core's (@streamgauge/client); this file only words it for
 * users, on panel notices and in the editor.
 */
import { ConnectionState } from '@streamgauge/client';

export { ConnectionState, type StateChange } from '@streamgauge/client';

/** Text for a panel notice; undefined when nothing is worth telling. */
export function describeState(s: ConnectionState, reason?: string, pollIntervalMs?: number): string | undefined {
  switch (s) {
    case ConnectionState.Reconnecting:
      return `Streamgauge: connection lost${reason ? ` (${reason})` : ''}; reconnecting and resuming from the last offset`;
    case ConnectionState.Polling:
      return `Streamgauge: WebSocket unavailable${reason ? ` (${reason})` : ''}; polling the REST API every ${pollIntervalMs ?? '?'} ms and retrying WebSocket`;
    case ConnectionState.Closed:
      return reason ? `Streamgauge: connection closed (${reason})` : undefined;
    default:
      return undefined;
  }
}
