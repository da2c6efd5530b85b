import { DataSourceJsonData } from '@grafana/data';
import { DataQuery } from '@grafana/schema';

/** One panel target. */
export interface SgQuery extends DataQuery {
  /** Channel name, e.g. `app/scans`. May contain template variables. */
  channel?: string;
  /** Fields to show (empty: all fields of the channel schema). The time field is always kept. */
  fields?: string[];
  /** A simple filter on field values: `field op value`, op one of = != > >= < <= ~ (substring). */
  filter?: string;
  /** true: history for the time range, then live. false: history only. */
  live?: boolean;
  /** Rows kept in the frame at most (oldest dropped first). */
  bufferSize?: number;
  /** Time window kept in a live frame, in seconds (0: the dashboard range). */
  windowSeconds?: number;
  /** Set by the annotation support: the frame gets time, text and tags columns. */
  asAnnotation?: boolean;
  /** Annotations only: field whose value is the annotation text (default: `message`, else all fields as JSON). */
  textField?: string;
  /**
   * State and entity channels: `current` (default) shows one row per key, what is true now;
   * `changes` shows every message as a row (a log or history view). Streams ignore it.
   */
  view?: QueryView;
  /** Current state: keys kept at most (default 10,000; 1 to 100,000); a notice says when more exist. */
  maxKeys?: number;
}

export type QueryView = 'current' | 'changes';

export const DEFAULT_QUERY: Partial<SgQuery> = {
  live: true,
  bufferSize: 1_000,
  windowSeconds: 0,
};

/** Limits on query options, so a typo cannot ask for a buffer that eats the tab's memory. */
export const QUERY_LIMITS = {
  maxBufferSize: 100_000,
  maxKeys: 100_000,
};

/**
 * proxy (default): the browser talks only to Grafana; Grafana's data source proxy adds the API key.
 * direct: the browser connects to `directUrl` with a short-lived token fetched through the proxy.
 */
export type AccessMode = 'proxy' | 'direct';

/** Options of one data source instance (jsonData: readable by every viewer; no secrets here). */
export interface SgDataSourceOptions extends DataSourceJsonData {
  accessMode?: AccessMode;
  /** The collector as Grafana's server reaches it, e.g. http://collector:8080. Used by the proxy route. */
  collectorUrl?: string;
  /** Direct mode: the collector as browsers reach it, e.g. https://collector.example.com. */
  directUrl?: string;
  /** Polling interval of the REST fallback, in ms. */
  pollIntervalMs?: number;
  /** Direct mode: lifetime asked for the browser token, in seconds. */
  tokenTtlSeconds?: number;
  /**
   * Render interval per query, in ms: a panel gets at most one new frame per interval (a message
   * after a quiet interval at once, a burst as one trailing frame). Clamped to RENDER_INTERVAL_LIMITS.
   */
  renderIntervalMs?: number;
}

/** Kept encrypted by Grafana and only used server-side by the proxy route (plugin.json `routes`). */
export interface SgSecureJsonData {
  apiKey?: string;
}

/** The proxy route prefix declared in plugin.json: `/api/datasources/proxy/uid/<uid>/sg/...`. */
export const PROXY_ROUTE = 'sg';

export const DEFAULT_OPTIONS = {
  accessMode: 'proxy' as AccessMode,
  pollIntervalMs: 1_000,
  tokenTtlSeconds: 60,
  /**
   * About 33 frames/s per panel: a row reaches the panel at most one interval after it arrives
   * (p99 < 50 ms at 1,000 msg/s, issue 17) while a busy channel re-renders a panel no faster
   * than a screen can usefully show.
   */
  renderIntervalMs: 30,
};

/** Bounds of renderIntervalMs: below 10 ms a panel re-renders faster than Grafana paints; above 1 s it looks stuck. */
export const RENDER_INTERVAL_LIMITS = { minMs: 10, maxMs: 1_000 };

/** The data source's render interval: the default when unset, clamped to RENDER_INTERVAL_LIMITS. */
export function renderInterval(ms: number | undefined): number {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) {
    return DEFAULT_OPTIONS.renderIntervalMs;
  }
  return Math.min(RENDER_INTERVAL_LIMITS.maxMs, Math.max(RENDER_INTERVAL_LIMITS.minMs, Math.round(ms)));
}
