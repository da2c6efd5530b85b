/**
 * The test host page: plays the part of Grafana's frontend for one data source plugin.
 * 1. Sets up @grafana/runtime as Grafana does at boot (BackendSrv, TemplateSrv), from the real package.
 * 2. Registers the shared modules and loads the built dist/module.js through the AMD loader.
 * 3. Renders the plugin's ConfigEditor and QueryEditor, creates the DataSource from instance
 *    settings whose `url` is the data source proxy URL, runs the query and shows the rows.
 *    With `panels` > 1 it is a dashboard: that many panels run the query through the one
 *    DataSource instance, as Grafana's panels share it (host-panel.tsx).
 * Everything the test reads is in the DOM (data-testid) and in `window.__SG_HOST_STATE__`.
 */
import {
  CoreApp,
  type DataQuery,
  type DataSourceApi,
  type DataSourcePlugin,
  type DataSourceSettings,
  type ScopedVars,
  ThemeContext,
  createTheme,
} from '@grafana/data';
import { setBackendSrv, setTemplateSrv, type TemplateSrv } from '@grafana/runtime';
import { Button, GlobalStyles } from '@grafana/ui';
import React, { useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createAmdLoader } from './amd-loader';
import { createHostBackendSrv } from './host-backend-srv';
import { Panel } from './host-panel';
import type { HostPageConfig, HostState } from './host-state';
import { SHARED_MODULES } from './shared-modules';

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
  panels: Array.from({ length: cfg.panels }, () => ({ responses: 0 })),
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

function Host({ plugin }: { plugin: DataSourcePlugin<DataSourceApi> }) {
  const ds = useMemo(() => new plugin.DataSourceClass(cfg.instanceSettings), [plugin]);
  const [settings, setSettings] = useState<DataSourceSettings>(cfg.settings);
  const [query, setQuery] = useState<DataQuery>(() => ({
    refId: 'A',
    ...(ds.getDefaultQuery?.(CoreApp.Dashboard) ?? {}),
    ...cfg.query,
  }));
  const [runId, setRunId] = useState(cfg.autorun ? 1 : 0);
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
        <div
          style={
            cfg.panelHeight ? { display: 'grid', gridTemplateColumns: 'repeat(2, minmax(0, 1fr))', gap: 8 } : undefined
          }
        >
          {state.panels.map((_, i) => (
            <Panel
              key={i}
              index={i}
              ds={ds}
              query={query}
              runId={runId}
              maxRows={cfg.maxRows}
              height={cfg.panelHeight}
              state={state}
            />
          ))}
        </div>
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
