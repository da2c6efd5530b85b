/**
 * The test host page: plays the part of Grafana's frontend for one data source plugin.
 * 1. Sets up @grafana/runtime as Grafana does at boot (BackendSrv, TemplateSrv), from the real package.
 * 2. Registers the shared modules and loads the built dist/module.js through the AMD loader.
 * 3. Renders the plugin's ConfigEditor and QueryEditor, creates the DataSource from instance
 *    settings whose `url` is the data source proxy URL, runs the query and shows the rows.
 * Everything the test reads is in the DOM (data-testid) and in `window.__SG_HOST_STATE__`.
 */
import {
  CoreApp,
  type DataFrame,
  type DataQuery,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceApi,
  type DataSourceInstanceSettings,
  type DataSourcePlugin,
  type DataSourceSettings,
  type ScopedVars,
  ThemeContext,
  createTheme,
  dateTime,
  toDataFrame,
} from '@grafana/data';
import { setBackendSrv, setTemplateSrv, type TemplateSrv } from '@grafana/runtime';
import { Button, GlobalStyles } from '@grafana/ui';
import React, { useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { from, isObservable, type Subscription } from 'rxjs';
import { createAmdLoader } from './amd-loader';
import { createHostBackendSrv } from './host-backend-srv';
import { SHARED_MODULES } from './shared-modules';

/** What the host server writes into the page (see host-server.ts). */
export interface HostPageConfig {
  pluginId: string;
  moduleUrl: string;
  instanceSettings: DataSourceInstanceSettings;
  /** Settings shown in the ConfigEditor (the same data source, as the config page sees it). */
  settings: DataSourceSettings;
  /** Merged over the plugin's default query. */
  query: Record<string, unknown>;
  /** Run the query as soon as the plugin is loaded. */
  autorun: boolean;
  /** Rows shown per frame (the newest ones). */
  maxRows: number;
}

export interface HostState {
  /** The host itself: `error` when the plugin could not be loaded (see `error`). */
  phase: 'booting' | 'loaded' | 'error';
  error?: string;
  /** The query: `error` when its Observable failed (see `queryError`). */
  query: 'idle' | 'running' | 'error' | 'complete';
  queryError?: string;
  sharedModules: string[];
  responses: number;
  lastState?: string;
  lastErrors: string[];
  frames: Array<{ refId?: string; name?: string; fields: string[]; length: number }>;
  requests: Array<{ method: string; url: string; status: number }>;
  /** Result of the plugin's testDatasource() ("Save & test" on Grafana's config page). */
  health?: { status: string; message: string };
}

declare global {
  interface Window {
    __SG_HOST_CONFIG__: HostPageConfig;
    __SG_HOST_STATE__: HostState;
  }
}

const cfg = window.__SG_HOST_CONFIG__;
const backendSrv = createHostBackendSrv();
const state: HostState = {
  phase: 'booting',
  query: 'idle',
  sharedModules: [],
  responses: 0,
  lastErrors: [],
  frames: [],
  requests: backendSrv.requests,
};
window.__SG_HOST_STATE__ = state;

/** Grafana's TemplateSrv with no dashboard variables: only scoped variables ($__interval…) are replaced. */
const templateSrv: TemplateSrv = {
  getVariables: () => [],
  replace: (target?: string, scopedVars?: ScopedVars) =>
    (target ?? '').replace(/\$\{?(\w+)\}?/g, (m, name: string) => {
      const v = scopedVars?.[name]?.value;
      return v === undefined ? m : String(v);
    }),
  containsTemplate: (target?: string) => /\$\{?\w+\}?/.test(target ?? ''),
  updateTimeRange: () => undefined,
};

setBackendSrv(backendSrv);
setTemplateSrv(templateSrv);

function cellText(v: unknown): string {
  if (v === null || v === undefined) {
    return '';
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function FrameTable({ frame, maxRows }: { frame: DataFrame; maxRows: number }) {
  const start = Math.max(0, frame.length - maxRows);
  const rows: number[] = [];
  for (let i = start; i < frame.length; i++) {
    rows.push(i);
  }
  return (
    <table data-testid="frame" data-refid={frame.refId ?? ''} style={{ borderCollapse: 'collapse', margin: '8px 0' }}>
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

function Host({ plugin }: { plugin: DataSourcePlugin<DataSourceApi> }) {
  const ds = useMemo(() => new plugin.DataSourceClass(cfg.instanceSettings), [plugin]);
  const [settings, setSettings] = useState<DataSourceSettings>(cfg.settings);
  const [query, setQuery] = useState<DataQuery>(() => ({
    refId: 'A',
    ...(ds.getDefaultQuery?.(CoreApp.Dashboard) ?? {}),
    ...cfg.query,
  }));
  const [runId, setRunId] = useState(cfg.autorun ? 1 : 0);
  const [frames, setFrames] = useState<DataFrame[]>([]);
  const [status, setStatus] = useState('not running');
  const [health, setHealth] = useState('not tested');

  // Grafana's "Save & test" button: calls testDatasource() and shows its status and message.
  const testDataSource = () => {
    setHealth('testing…');
    Promise.resolve(ds.testDatasource())
      .then((r) => {
        state.health = { status: String(r.status), message: String(r.message) };
        setHealth(`${r.status}: ${r.message}`);
      })
      .catch((err: unknown) => {
        state.health = { status: 'error', message: err instanceof Error ? err.message : JSON.stringify(err) };
        setHealth(`error: ${state.health.message}`);
      });
  };
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(testDataSource, [ds]);

  useEffect(() => {
    if (runId === 0) {
      return;
    }
    const now = dateTime();
    const request: DataQueryRequest<DataQuery> = {
      app: CoreApp.Dashboard,
      requestId: `host-${runId}`,
      interval: '1s',
      intervalMs: 1000,
      maxDataPoints: 500,
      range: { from: dateTime(now).subtract(5, 'minutes'), to: now, raw: { from: 'now-5m', to: 'now' } },
      scopedVars: {},
      targets: [query],
      timezone: 'utc',
      startTime: Date.now(),
      panelId: 1,
      dashboardUID: 'sg-test-host',
      liveStreaming: true,
    };
    state.query = 'running';
    state.queryError = undefined;
    setStatus('running');
    const result = ds.query(request);
    const obs = isObservable(result) ? result : from(result as Promise<DataQueryResponse>);
    const sub: Subscription = obs.subscribe({
      next: (res) => {
        const list = (res.data ?? []).map((d: unknown) => toDataFrame(d));
        state.responses++;
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
          `response ${state.responses}: state=${res.state ?? 'n/a'}${state.lastErrors.length ? ` errors=${state.lastErrors.join('; ')}` : ''}`
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

  const { ConfigEditor, QueryEditor } = plugin.components;
  return (
    <div style={{ padding: 16, display: 'grid', gap: 16 }}>
      <h1 style={{ margin: 0 }}>Streamgauge plugin test host</h1>
      <div data-testid="host-info">
        plugin {cfg.pluginId} from {cfg.moduleUrl}; data source url {cfg.instanceSettings.url}
      </div>
      <section data-testid="config-editor">
        <h2>ConfigEditor</h2>
        {ConfigEditor ? <ConfigEditor options={settings} onOptionsChange={setSettings} /> : <em>no ConfigEditor</em>}
        <p>
          <Button variant="primary" onClick={testDataSource}>
            Save &amp; test
          </Button>{' '}
          <span data-testid="health">{health}</span>
        </p>
      </section>
      <section data-testid="query-editor">
        <h2>QueryEditor</h2>
        {QueryEditor ? (
          <QueryEditor
            datasource={ds}
            query={query}
            onChange={(q: DataQuery) => setQuery(q)}
            onRunQuery={() => setRunId((n) => n + 1)}
            app={CoreApp.Dashboard}
          />
        ) : (
          <em>no QueryEditor</em>
        )}
      </section>
      <section data-testid="results">
        <h2>Rows</h2>
        <div data-testid="query-status">{status}</div>
        {frames.map((f, i) => (
          <FrameTable key={`${f.refId}-${i}`} frame={f} maxRows={cfg.maxRows} />
        ))}
      </section>
    </div>
  );
}

async function boot(): Promise<void> {
  const root = createRoot(document.getElementById('root')!);
  const theme = createTheme();
  const wrap = (child: React.ReactNode) => (
    <ThemeContext.Provider value={theme}>
      <GlobalStyles />
      {child}
    </ThemeContext.Provider>
  );
  try {
    const loader = createAmdLoader();
    for (const [name, value] of Object.entries(SHARED_MODULES)) {
      loader.register(name, value);
    }
    state.sharedModules = loader.names();
    const exports = await loader.load(cfg.moduleUrl);
    const plugin = exports.plugin as DataSourcePlugin<DataSourceApi> | undefined;
    if (!plugin || typeof plugin.DataSourceClass !== 'function') {
      throw new Error(
        `${cfg.moduleUrl} does not export a DataSourcePlugin as "plugin" (exports: ${Object.keys(exports).join(', ')})`
      );
    }
    state.phase = 'loaded';
    root.render(wrap(<Host plugin={plugin} />));
  } catch (err) {
    state.phase = 'error';
    state.error = err instanceof Error ? err.message : String(err);
    root.render(wrap(<pre data-testid="host-error">{state.error}</pre>));
  }
}

void boot();
