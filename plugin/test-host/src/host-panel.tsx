/**
 * One panel of the test host's dashboard: runs the query through the data source the dashboard
 * shares (Grafana keeps one DataSourceApi instance per data source, public/app/features/plugins/
 * datasource_srv.ts, and every panel's query goes to it with its own panelId,
 * public/app/features/query/state/PanelQueryRunner.ts) and shows the newest rows of each frame.
 * After each render is committed to the DOM it calls `window.__SG_HOST_HOOKS__.rendered` (if a
 * test or benchmark installed one) with the frames the panel now shows.
 */
import {
  CoreApp,
  type DataFrame,
  type DataQuery,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceApi,
  dateTime,
  toDataFrame,
} from '@grafana/data';
import React, { useEffect, useLayoutEffect, useState } from 'react';
import { from, isObservable, type Subscription } from 'rxjs';
import type { HostState } from './host-state';

/** Called by the host; installed by a test or benchmark before the page loads (optional). */
export interface HostHooks {
  /** A response reached the panel (Grafana's PanelQueryRunner gets it here). */
  response?(panel: number, frames: DataFrame[]): void;
  /** The panel's DOM now shows these frames (React committed the render). */
  rendered?(panel: number, frames: DataFrame[]): void;
}

declare global {
  interface Window {
    __SG_HOST_HOOKS__?: HostHooks;
  }
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) {
    return '';
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * `fixed`: columns share the panel's width without measuring their cells (Grafana's table panel
 * sizes columns from the panel width, public/app/plugins/panel/table), so a new row does not lay
 * out the whole table again; used for dashboard panels (fixed height).
 */
function FrameTable({ frame, maxRows, fixed }: { frame: DataFrame; maxRows: number; fixed?: boolean }) {
  const start = Math.max(0, frame.length - maxRows);
  const rows: number[] = [];
  for (let i = start; i < frame.length; i++) {
    rows.push(i);
  }
  return (
    <table
      data-testid="frame"
      data-refid={frame.refId ?? ''}
      style={{
        borderCollapse: 'collapse',
        margin: '8px 0',
        ...(fixed ? { tableLayout: 'fixed', width: '100%' } : {}),
      }}
    >
      <caption style={{ textAlign: 'left' }}>
        frame {frame.name ?? frame.refId ?? ''}: {frame.length} rows
      </caption>
      <thead>
        <tr>
          {frame.fields.map((f) => (
            <th key={f.name} style={{ border: '1px solid #555', padding: '2px 6px' }}>
              {f.name}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((i) => (
          <tr key={i} data-testid="row">
            {frame.fields.map((f) => (
              <td key={f.name} data-field={f.name} style={{ border: '1px solid #555', padding: '2px 6px' }}>
                {cellText(f.values[i])}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export interface PanelProps {
  index: number;
  ds: DataSourceApi;
  query: DataQuery;
  /** 0: not run yet; a new value re-runs the query (onRunQuery). */
  runId: number;
  maxRows: number;
  /**
   * Fixed panel height in px (a dashboard's grid cell: Grafana sizes each panel from the grid
   * layout and clips its content), laid out on its own (CSS containment); default: grows with the rows.
   */
  height?: number;
  /** The page-wide state the tests read (window.__SG_HOST_STATE__). */
  state: HostState;
}

export function Panel({ index, ds, query, runId, maxRows, height, state }: PanelProps) {
  const [frames, setFrames] = useState<DataFrame[]>([]);
  const [status, setStatus] = useState('not running');

  useLayoutEffect(() => {
    if (frames.length) {
      window.__SG_HOST_HOOKS__?.rendered?.(index, frames);
    }
  }, [frames, index]);

  useEffect(() => {
    if (runId === 0) {
      return;
    }
    const now = dateTime();
    const request: DataQueryRequest<DataQuery> = {
      app: CoreApp.Dashboard,
      requestId: `host-${index + 1}-${runId}`,
      interval: '1s',
      intervalMs: 1000,
      maxDataPoints: 500,
      range: { from: dateTime(now).subtract(5, 'minutes'), to: now, raw: { from: 'now-5m', to: 'now' } },
      scopedVars: {},
      targets: [query],
      timezone: 'utc',
      startTime: Date.now(),
      panelId: index + 1,
      dashboardUID: 'sg-test-host',
      liveStreaming: true,
    };
    const mine = state.panels[index];
    state.query = 'running';
    state.queryError = undefined;
    setStatus('running');
    const result = ds.query(request);
    const obs = isObservable(result) ? result : from(result as Promise<DataQueryResponse>);
    const sub: Subscription = obs.subscribe({
      next: (res) => {
        const list = (res.data ?? []).map((d: unknown) => toDataFrame(d));
        window.__SG_HOST_HOOKS__?.response?.(index, list);
        state.responses++;
        mine.responses++;
        state.lastState = res.state;
        state.lastErrors = [...(res.errors ?? []), ...(res.error ? [res.error] : [])].map(
          (e) => e.message ?? JSON.stringify(e)
        );
        state.frames = list.map((f) => ({
          refId: f.refId,
          name: f.name,
          fields: f.fields.map((x) => x.name),
          length: f.length,
        }));
        setFrames(list);
        setStatus(
          `response ${mine.responses}: state=${res.state ?? 'n/a'}${state.lastErrors.length ? ` errors=${state.lastErrors.join('; ')}` : ''}`
        );
      },
      error: (err: unknown) => {
        state.query = 'error';
        state.queryError = err instanceof Error ? err.message : JSON.stringify(err);
        setStatus(`query error: ${state.queryError}`);
      },
      complete: () => {
        state.query = 'complete';
        setStatus((s) => `${s} (complete)`);
      },
    });
    // Grafana unsubscribes when the panel re-runs or unmounts: the plugin must close what it opened.
    return () => sub.unsubscribe();
    // Re-run only on explicit runs (onRunQuery), as a panel does.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runId, ds]);

  return (
    <section
      data-testid="panel"
      data-panel={index + 1}
      style={height ? { height, overflow: 'hidden', contain: 'strict', border: '1px solid #555' } : undefined}
    >
      <div data-testid="query-status">{status}</div>
      {frames.map((f, i) => (
        <FrameTable key={`${f.refId}-${i}`} frame={f} maxRows={maxRows} fixed={!!height} />
      ))}
    </section>
  );
}
