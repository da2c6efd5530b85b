/**
 * The connection state is the client core's (@streamgauge/client); this file only words it for
 * users, on panel notices and in the editor.
 */
import type { QueryResultMetaNotice } from '@grafana/data';
import { ConnectionState, type ProtocolClient } from '@streamgauge/client';

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

/** The panel notice for the client's current state (undefined when connected or idle). */
export function connectionNotice(client: ProtocolClient, pollIntervalMs?: number): QueryResultMetaNotice | undefined {
  const text = describeState(client.state, client.stateReason, pollIntervalMs);
  return text ? { severity: client.state === ConnectionState.Polling ? 'info' : 'warning', text } : undefined;
}
