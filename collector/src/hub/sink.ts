import type { ServerFrame } from '@streamgauge/protocol';

export type Transport = 'ws' | 'sse';

/** One streaming client connection (a WebSocket or an SSE response), as the hub sees it. */
export interface Sink {
  readonly id: number;
  readonly transport: Transport;
  /** true once the client is gone or being closed; the hub stops writing to it. */
  readonly closed: boolean;
  /**
   * Writes a `messages` frame (already JSON). The sink closes itself if its queue goes over its
   * limit; it returns false then.
   */
  sendMessages(frame: string, channel: string, lastOffset: number, epoch: string): boolean;
  /** Writes a control frame (subscribed, error…). */
  sendFrame(frame: ServerFrame): void;
  /** Bytes written but not yet taken by the kernel. */
  queuedBytes(): number;
  /** The byte budget of the queue (for replay backpressure). */
  readonly maxQueueBytes: number;
  /** Closes the connection with a close code (WebSocket); sinks without it are told by an error frame. */
  close?(code: number, reason: string): void;
}

let nextId = 1;
export function nextSinkId(): number {
  return nextId++;
}
