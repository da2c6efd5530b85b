import type { StoredMessage } from '../log/event-log';

/**
 * `{"type":"messages",…}` built from items that are already JSON. Built once per channel per flush
 * and shared by every subscriber (the WebSocket adapter also encodes it once, ws-adapter.ts).
 */
export function messagesFrame(channel: string, epoch: string, messages: StoredMessage[], snapshot = false): string {
  let s = `{"type":"messages","channel":"${channel}","epoch":"${epoch}",${snapshot ? '"snapshot":true,' : ''}"messages":[`;
  for (let i = 0; i < messages.length; i++) {
    s += i === 0 ? messages[i].item : `,${messages[i].item}`;
  }
  return `${s}]}`;
}
