/**
 * A state or entity channel shown as what is true now: the snapshot (REST), then every change from
 * the shared socket, from the snapshot's offset, folded into one row per key (current-state.ts).
 * A lost position (recovered: false, a new epoch) rebuilds from a new snapshot. Emissions are
 * bounded like a stream's. A query that is not live shows the state as of the range's end, folded
 * from the newest messages up to it.
 */
import { type DataQueryResponse, LoadingState, type QueryResultMetaNotice } from '@grafana/data';
import type { ChannelInfo, MessageItem, Position } from '@streamgauge/protocol';
import { Observable } from 'rxjs';
import { connectionNotice } from '../live/connection-state';
import { QUERY_LIMITS } from '../types';
import { CURRENT_STATE_DEFAULTS, CurrentStateBuilder } from './current-state';
import { STREAM_DEFAULTS, type TargetSpec, type TargetStreamDeps, queryError, resetNotice } from './target-spec';
import { createThrottle } from './throttle';

/** The collector's default limits.historyMaxLimit: the most a snapshot or history page holds. */
export const SNAPSHOT_MAX_KEYS = 10_000;

/** Current state is the default view of state and entity channels; annotations are changes. */
export function showsCurrentState(t: TargetSpec, info: ChannelInfo): boolean {
  return info.kind !== 'stream' && !t.annotation && (t.view ?? 'current') === 'current';
}

export function currentStateStream(
  t: TargetSpec,
  info: ChannelInfo,
  deps: TargetStreamDeps
): Observable<DataQueryResponse> {
  const minEmit = deps.minEmitIntervalMs ?? STREAM_DEFAULTS.minEmitIntervalMs;
  const now = deps.now ?? Date.now;
  const maxKeys = Math.min(QUERY_LIMITS.maxKeys, Math.max(1, Math.floor(t.maxKeys || CURRENT_STATE_DEFAULTS.maxKeys)));
  return new Observable<DataQueryResponse>((subscriber) => {
    let closed = false;
    let unsubscribe: (() => void) | undefined;
    let unlistenState: (() => void) | undefined;
    let pending: MessageItem[] = [];
    let pendingEpoch: string | undefined;
    let resetNotices: QueryResultMetaNotice[] = [];
    let stateNotice: QueryResultMetaNotice | undefined;
    let errorNotice: QueryResultMetaNotice | undefined;
    let truncated: QueryResultMetaNotice | undefined;
    const state = new CurrentStateBuilder({
      schema: info.schema,
      kind: info.kind,
      refId: t.refId,
      name: t.channel,
      fields: t.fields,
      filter: t.filter,
      maxKeys,
    });

    const emit = (loading: LoadingState) => {
      if (closed) {
        return;
      }
      throttle.ran();
      state.setNotices([
        ...resetNotices,
        ...(truncated ? [truncated] : []),
        ...(stateNotice ? [stateNotice] : []),
        ...(errorNotice ? [errorNotice] : []),
      ]);
      subscriber.next({ data: [state.frame()], key: t.key, state: loading });
    };
    const flush = () => {
      if (closed) {
        return;
      }
      if (pending.length && pendingEpoch === state.epoch) {
        state.apply(pending, pendingEpoch!);
      }
      pending = [];
      emit(LoadingState.Streaming);
    };
    const throttle = deps.clock ? deps.clock.throttle(flush) : createThrottle(minEmit, now, flush);

    /** The snapshot, as the rows; resolves with the position live changes continue after. */
    const loadSnapshot = async (): Promise<Position> => {
      const s = await deps.api.snapshot(t.channel, Math.min(maxKeys, SNAPSHOT_MAX_KEYS));
      truncated = s.more
        ? {
            severity: 'warning',
            text: `Streamgauge: the collector's snapshot of ${t.channel} was cut at ${s.count} keys (limits.historyMaxLimit); keys updated earlier show up when they change.`,
          }
        : undefined;
      if (!closed) {
        state.reset(s.messages, s.epoch, s.lastOffset);
        pending = [];
        pendingEpoch = s.epoch;
      }
      return { epoch: s.epoch, offset: s.lastOffset };
    };

    const run = async () => {
      if (!t.live) {
        // The state as of the range's end: the newest changes up to it, folded. Keys whose last
        // change is older than those are missing (the collector keeps no snapshot at a time).
        const h = await deps.api.messages({
          channel: t.channel,
          to: t.to,
          tail: true,
          limit: Math.min(maxKeys, SNAPSHOT_MAX_KEYS),
        });
        if (closed) {
          return;
        }
        state.reset(h.messages, h.epoch, h.messages.length ? h.messages[h.messages.length - 1].offset : 0);
        emit(LoadingState.Done);
        subscriber.complete();
        return;
      }
      const position = await loadSnapshot();
      if (closed) {
        return;
      }
      const manager = deps.manager();
      // The first notice rides on the first emission below; later changes ask for one.
      const onState = (first = false) => {
        const next = connectionNotice(manager, deps.pollIntervalMs);
        if (next?.text !== stateNotice?.text) {
          stateNotice = next;
          if (!first) {
            throttle.schedule();
          }
        }
      };
      unlistenState = manager.onState(() => onState());
      onState(true);
      emit(LoadingState.Streaming);
      unsubscribe = manager.subscribe(t.channel, position, {
        onMessages: (items, epoch, d) => {
          if (d.snapshot || epoch !== state.epoch) {
            return;
          }
          pendingEpoch = epoch;
          for (const m of items) {
            pending.push(m);
          }
          if (errorNotice) {
            errorNotice = undefined;
          }
          // A burst on few keys folds without waiting for the render: the queue stays bounded.
          if (pending.length > 10_000) {
            state.apply(pending, epoch);
            pending = [];
          }
          throttle.schedule();
        },
        onSubscribed: (f) => state.setSchema(f.schema),
        onReset: async (r) => {
          resetNotices = [
            {
              ...resetNotice(r.reason, now()),
              text: `Streamgauge: position lost (${r.reason}); the current state was rebuilt from the collector's snapshot at ${new Date(now()).toISOString()}.`,
            },
          ];
          const pos = await loadSnapshot();
          emit(LoadingState.Streaming);
          return pos;
        },
        onError: (e) => {
          errorNotice = { severity: 'error', text: `Streamgauge ${e.code}: ${e.message}` };
          throttle.schedule();
        },
      });
    };

    run().catch((err: unknown) => {
      if (!closed) {
        subscriber.error(queryError(err, t.refId));
      }
    });

    return () => {
      closed = true;
      throttle.cancel();
      unlistenState?.();
      unsubscribe?.();
    };
  });
}
