/**
 * What the host server writes into the page (HostPageConfig) and what the page exposes to tests
 * (HostState, window.__SG_HOST_STATE__). Types only: shared by host-main.tsx and host-panel.tsx.
 */
import type { DataSourceInstanceSettings, DataSourceSettings } from '@grafana/data';

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
  /** Panels on the page, each running the query with its own panelId. */
  panels: number;
  /** Fixed panel height in px (dashboard grid cells); absent: panels grow with their rows. */
  panelHeight?: number;
}

export interface HostState {
  /** The host itself: `error` when the plugin could not be loaded (see `error`). */
  phase: 'booting' | 'loaded' | 'error';
  error?: string;
  /** The query: `error` when its Observable failed (see `queryError`). */
  query: 'idle' | 'running' | 'error' | 'complete';
  queryError?: string;
  sharedModules: string[];
  /** Responses received, all panels together. */
  responses: number;
  /** Per panel (in page order): responses received. */
  panels: Array<{ responses: number }>;
  lastState?: string;
  lastErrors: string[];
  frames: Array<{ refId?: string; name?: string; fields: string[]; length: number }>;
  requests: Array<{ method: string; url: string; status: number }>;
  /** Result of the plugin's testDatasource() ("Save & test" on Grafana's config page). */
  health?: { status: string; message: string };
}
