/**
 * One Observable per query target. History for the dashboard's range first (so a reload, Explore
 * or a query edit never starts blank), then, for live targets, the shared socket from the exact
 * offset where history ended. Appends are batched and emitted at most every `minEmitIntervalMs`,
 * so 50+ messages/s do not re-render a panel 50 times a second. The teardown releases the channel
 * subscription (reference-counted in the client core) and every timer.
 */
import { type DataQueryResponse, LoadingState, type QueryResultMetaNotice } from '@grafana/data';
import type { ChannelInfo, MessageItem, Position } from '@streamgauge/protocol';
import { Observable } from 'rxjs';
import type { CollectorApi } from '../api/collector-api';
import type { ProtocolClient } from '@streamgauge/client';
import { ConnectionState, describeState } from '../live/connection-state';
import { FrameBuilder } from './frame-builder';
import { loadHistory } from './load-history';

export const STREAM_DEFAULTS = {
  /** Emissions per target at most one per this many ms (batched appends in between). */
  minEmitIntervalMs: 100,
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
}

export interface TargetStreamDeps {
  api: CollectorApi;
  /** Lazily created on the first live target. */
  manager: () => ProtocolClient;
  pollIntervalMs?: number;
  minEmitIntervalMs?: number;
  now?: () => number;
}

function resetNotice(reason: string, at: number): QueryResultMetaNotice {
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

export function targetStream(t: TargetSpec, deps: TargetStreamDeps): Observable<DataQueryResponse> {
  const minEmit = deps.minEmitIntervalMs ?? STREAM_DEFAULTS.minEmitIntervalMs;
  const now = deps.now ?? Date.now;
  return new Observable<DataQueryResponse>((subscriber) => {
    let closed = false;
    let unsubscribe: (() => void) | undefined;
    let unlistenState: (() => void) | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastEmit = 0;
    let pending: MessageItem[] = [];
    let pendingEpoch: string | undefined;
    let builder: FrameBuilder | undefined;
    let resetNotices: QueryResultMetaNotice[] = [];
    let stateNotice: QueryResultMetaNotice | undefined;
    let errorNotice: QueryResultMetaNotice | undefined;

    const applyNotices = () => {
      builder?.setNotices([
        ...resetNotices,
        ...(stateNotice ? [stateNotice] : []),
        ...(errorNotice ? [errorNotice] : []),
      ]);
    };

    const emit = (state: LoadingState) => {
      if (closed || !builder) {
        return;
      }
      lastEmit = now();
      subscriber.next({ data: [builder.frame], key: t.key, state });
    };

    const flush = () => {
      timer = undefined;
      if (closed || !builder) {
        return;
      }
      if (pending.length) {
        const batch = pending;
        pending = [];
        builder.append(batch, pendingEpoch);
      }
      emit(LoadingState.Streaming);
    };

    const schedule = () => {
      if (timer !== undefined || closed) {
        return;
      }
      timer = setTimeout(flush, Math.max(0, minEmit - (now() - lastEmit)));
    };

    const refill = async (): Promise<Position> => {
      const h = await loadHistory(deps.api, t.channel, { from: now() - effectiveWindow(), limit: t.bufferSize });
      if (builder && !closed) {
        builder.reset();
        pending = [];
        builder.append(h.messages, h.epoch);
      }
      return h.position;
    };

    const effectiveWindow = () =>
      Number.isFinite(t.windowMs) && t.windowMs > 0 ? t.windowMs : Math.max(1, t.to - t.from);

    const run = async () => {
      const info: ChannelInfo = await deps.api.channel(t.channel);
      if (closed) {
        return;
      }
      builder = new FrameBuilder({
        schema: info.schema,
        kind: info.kind,
        refId: t.refId,
        name: t.channel,
        maxLength: t.bufferSize,
        maxDeltaMs: t.live ? t.windowMs : undefined,
        fields: t.fields,
        filter: t.filter,
        annotation: t.annotation,
      });
      const h = await loadHistory(deps.api, t.channel, {
        from: t.from,
        to: t.live ? undefined : t.to,
        limit: t.bufferSize,
      });
      if (closed) {
        return;
      }
      builder.append(h.messages, h.epoch);
      if (!t.live) {
        emit(LoadingState.Done);
        subscriber.complete();
        return;
      }
      const manager = deps.manager();
      const onState = () => {
        const text = describeState(manager.state, manager.stateReason, deps.pollIntervalMs);
        const next: QueryResultMetaNotice | undefined = text
          ? { severity: manager.state === ConnectionState.Polling ? 'info' : 'warning', text }
          : undefined;
        if (next?.text !== stateNotice?.text) {
          stateNotice = next;
          applyNotices();
          schedule();
        }
      };
      unlistenState = manager.onState(onState);
      onState();
      emit(LoadingState.Streaming);
      unsubscribe = manager.subscribe(t.channel, h.position, {
        onMessages: (items, epoch, info) => {
          if (info.snapshot) {
            // Subscribed with a position: no snapshot is expected; a history view ignores one.
            return;
          }
          if (pendingEpoch !== undefined && epoch !== pendingEpoch && pending.length) {
            builder!.append(pending, pendingEpoch);
            pending = [];
          }
          pendingEpoch = epoch;
          // Rows beyond the buffer would be trimmed anyway: keep the queue bounded too.
          for (const m of items) {
            pending.push(m);
          }
          if (pending.length > t.bufferSize * 2) {
            pending = pending.slice(pending.length - t.bufferSize);
          }
          if (errorNotice) {
            errorNotice = undefined;
            applyNotices();
          }
          schedule();
        },
        onSubscribed: (f) => {
          builder?.setSchema(f.schema);
        },
        onReset: async (info) => {
          resetNotices = [resetNotice(info.reason, now())];
          const pos = await refill();
          applyNotices();
          pendingEpoch = pos.epoch;
          emit(LoadingState.Streaming);
          return pos;
        },
        onError: (e) => {
          errorNotice = { severity: 'error', text: `Streamgauge ${e.code}: ${e.message}` };
          applyNotices();
          schedule();
        },
      });
    };

    run().catch((err: unknown) => {
      if (!closed) {
        const e = err as { code?: string; message?: string };
        subscriber.error({ message: `${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`, refId: t.refId });
      }
    });

    return () => {
      closed = true;
      clearTimeout(timer);
      unlistenState?.();
      unsubscribe?.();
    };
  });
}
