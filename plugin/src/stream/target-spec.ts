/** What a query target is and what it needs: shared by the stream and the current-state targets. */
import type { QueryResultMetaNotice } from '@grafana/data';
import type { ProtocolClient } from '@streamgauge/client';
import type { CollectorApi } from '../api/collector-api';
import { DEFAULT_OPTIONS, type QueryView } from '../types';
import type { RenderClock } from './throttle';

export const STREAM_DEFAULTS = {
  /** Emissions per target at most one per this many ms (the data source's renderIntervalMs). */
  minEmitIntervalMs: DEFAULT_OPTIONS.renderIntervalMs,
};

export interface TargetSpec {
  refId: string;
  channel: string;
  live: boolean;
  bufferSize: number;
  fields?: string[];
  filter?: string;
  /** ms; Infinity or 0: unbounded. */
  windowMs: number;
  from: number;
  to: number;
  /** Grafana's stream key: panel/request + refId, so two panels never share a stream. */
  key: string;
  /** Annotation frames get `text`, `title` and `tags` columns. */
  annotation?: { textField?: string };
  /** State and entity channels: current state (default) or changes. */
  view?: QueryView;
  /** Current state: keys kept at most. */
  maxKeys?: number;
}

export interface TargetStreamDeps {
  api: CollectorApi;
  /** Lazily created on the first live target. */
  manager: () => ProtocolClient;
  pollIntervalMs?: number;
  minEmitIntervalMs?: number;
  /**
   * The data source's render clock (throttle.ts): the targets of all its panels emit together.
   * Absent: the target throttles on a clock of its own (minEmitIntervalMs).
   */
  clock?: RenderClock;
  now?: () => number;
}

export function resetNotice(reason: string, at: number): QueryResultMetaNotice {
  const why =
    reason === 'epoch_changed'
      ? "the collector's history for this channel was lost (new epoch)"
      : reason === 'ahead'
        ? 'the collector lost its most recent messages'
        : 'messages were evicted by retention before they could be resumed';
  return {
    severity: 'warning',
    text: `Streamgauge: position lost (${reason}): ${why}. The frame was refilled from the REST API at ${new Date(at).toISOString()}; some messages may be missing.`,
  };
}

/** A target's failure as Grafana shows it on the panel: `CODE: message`. */
export function queryError(err: unknown, refId: string): { message: string; refId: string } {
  const e = err as { code?: string; message?: string };
  return { message: `${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`, refId };
}
