/**
 * One Observable per query target. History for the dashboard's range first (so a reload, Explore
 * or a query edit never starts blank), then, for live targets, the shared socket from the exact
 * offset where history ended. Appends are emitted at most every `minEmitIntervalMs` (the render
 * interval, throttle.ts): a message after a quiet interval at once, a burst as one trailing
 * emission, so 1,000 messages/s do not re-render a panel 1,000 times a second. The teardown releases the channel
 * subscription (reference-counted in the client core) and every timer.
 */
import { type DataQueryResponse, LoadingState, type QueryResultMetaNotice } from '@grafana/data';
import type { ChannelInfo, MessageItem, Position } from '@streamgauge/protocol';
import { Observable } from 'rxjs';
import { connectionNotice } from '../live/connection-state';
import { FrameBuilder } from './frame-builder';
import { loadHistory } from './load-history';
import { currentStateStream, showsCurrentState } from './state-target';
import { STREAM_DEFAULTS, type TargetSpec, type TargetStreamDeps, queryError, resetNotice } from './target-spec';
import { createThrottle } from './throttle';

export { STREAM_DEFAULTS, type TargetSpec, type TargetStreamDeps } from './target-spec';

export function targetStream(t: TargetSpec, deps: TargetStreamDeps): Observable<DataQueryResponse> {
  const minEmit = deps.minEmitIntervalMs ?? STREAM_DEFAULTS.minEmitIntervalMs;
  const now = deps.now ?? Date.now;
  return new Observable<DataQueryResponse>((subscriber) => {
    let closed = false;
    let unsubscribe: (() => void) | undefined;
    let unlistenState: (() => void) | undefined;
    let inner: { unsubscribe(): void } | undefined;
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
      throttle.ran();
      subscriber.next({ data: [builder.frame], key: t.key, state });
    };

    const flush = () => {
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

    const throttle = deps.clock ? deps.clock.throttle(flush) : createThrottle(minEmit, now, flush);
    const schedule = () => throttle.schedule();

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
      if (showsCurrentState(t, info)) {
        inner = currentStateStream(t, info, deps).subscribe(subscriber);
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
      // The first notice rides on the first emission below; later changes ask for one.
      const onState = (first = false) => {
        const next = connectionNotice(manager, deps.pollIntervalMs);
        if (next?.text !== stateNotice?.text) {
          stateNotice = next;
          applyNotices();
          if (!first) {
            schedule();
          }
        }
      };
      unlistenState = manager.onState(() => onState());
      onState(true);
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
        subscriber.error(queryError(err, t.refId));
      }
    });

    return () => {
      closed = true;
      throttle.cancel();
      unlistenState?.();
      unsubscribe?.();
      inner?.unsubscribe();
    };
  });
}
