/**
 * What the cursor engine delivers to: a session. The engine never sees a socket; the session
 * decides what a full queue means (close it) and guards itself after close.
 */
import type { ServerFrame } from '@streamgauge/protocol';

export type Transport = 'ws' | 'sse' | 'local';

export interface CursorTarget {
  readonly transport: Transport;
  /** true once the session is closed or closing: nothing is registered for it or written to it. */
  readonly closed: boolean;
  /**
   * Writes a `messages` frame (already JSON, shared by every target of one flush). Returns false
   * when it was not written (the target closed, e.g. for a slow consumer).
   */
  deliver(frame: string, channel: string, epoch: string, lastOffset: number): boolean;
  /** Writes a control frame (subscribed, error…). */
  control(frame: ServerFrame): void;
  /** Bytes written but not yet taken by the peer, and the budget (replay backpressure). */
  queuedBytes(): number;
  readonly maxQueueBytes: number;
  /** The store went down: a WebSocket closes (clients resume elsewhere); SSE gets an error event. */
  storeDown(): void;
  /** A delivery threw: the target ends itself; nothing reaches other targets. */
  fail(err: unknown): void;
}

/** One channel delivered to one target: replayed from the log, then live, with no seam. */
export class Cursor {
  /** The last offset delivered (or skipped on purpose); live delivery sends only offsets above it. */
  position = 0;
  /** The epoch `position` belongs to. */
  epoch = '';
  live = false;
  closed = false;
  /** A catch-up loop runs for it (one at a time). */
  catching = false;
  /** A catch-up failed (store down): restarted when the store comes back or the next message arrives. */
  stalled = false;
  constructor(
    readonly target: CursorTarget,
    readonly channel: string,
    /** Echoed in `subscribed` frames (the request id of the subscription that opened it). */
    readonly id: number | string | undefined,
    /** The pattern that opened it, if any (for `subscribed.pattern`). */
    readonly pattern: string | undefined,
  ) {}
}
