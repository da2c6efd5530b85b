/**
 * The Streamgauge data source: one Observable per target (history, then live from the shared
 * socket), template variables, annotations and a connection test that says exactly what failed.
 */
import {
  type AnnotationQuery,
  type CoreApp,
  type DataQueryRequest,
  type DataQueryResponse,
  DataSourceApi,
  type DataSourceInstanceSettings,
  type MetricFindValue,
  type ScopedVars,
  type TestDataSourceResponse,
} from '@grafana/data';
import { matchChannel } from '@streamgauge/protocol';
import { type Observable, merge, of, throwError } from 'rxjs';
import { CollectorApi, type FetchLike } from './api/collector-api';
import { type Endpoints, endpoints } from './api/endpoints';
import { type ClientOptions, ProtocolClient, type WebSocketCtor } from '@streamgauge/client';
import { ConnectionState, type StateChange } from './live/connection-state';
import { checkConnection } from './live/check-connection';
import { type TargetSpec, targetStream } from './stream/target-stream';
import { type RenderClock, createRenderClock } from './stream/throttle';
import {
  DEFAULT_OPTIONS,
  DEFAULT_QUERY,
  QUERY_LIMITS,
  type SgDataSourceOptions,
  type SgQuery,
  renderInterval,
} from './types';
import { parseVariableQuery } from './variables/variable-query';

/** What Node tests (and the browser test host) inject; in Grafana every entry has a browser default. */
export interface DataSourceDeps {
  fetch?: FetchLike;
  WebSocket?: WebSocketCtor;
  /** The page location: ws:// or wss:// for the proxied socket follows its protocol. */
  location?: { protocol: string; host: string };
  connection?: Partial<Omit<ClientOptions, 'wsUrl' | 'rest' | 'WebSocket' | 'getToken'>>;
  minEmitIntervalMs?: number;
  /**
   * Grafana's template service (module.ts passes @grafana/runtime's). Injected rather than imported
   * so this class loads in Node without @grafana/runtime, which pulls in the whole UI library.
   */
  templateSrv?: () => { replace(target?: string, scopedVars?: ScopedVars): string };
  /** Direct mode's reachability probe for testDatasource (default: a no-cors fetch of /healthz). */
  probe?: (url: string) => Promise<boolean>;
}

/**
 * Whether the browser reaches a URL at all: a no-cors fetch resolves (opaque) whenever the server
 * answers, whatever its CORS headers, and rejects only when the network fails.
 */
const browserProbe = async (url: string): Promise<boolean> => {
  try {
    const http = url.replace(/^ws/i, 'http').replace(/\/ws$/, '');
    await globalThis.fetch(`${http}/healthz`, { mode: 'no-cors', signal: AbortSignal.timeout(5_000) });
    return true;
  } catch {
    return false;
  }
};

export class DataSource extends DataSourceApi<SgQuery, SgDataSourceOptions> {
  readonly endpoints: Endpoints;
  /** Set when the settings cannot work (e.g. direct mode without a browser URL). */
  readonly configError?: Error;
  readonly api: CollectorApi;
  private readonly fetchImpl: FetchLike;
  private readonly WebSocketImpl?: WebSocketCtor;
  private readonly pollIntervalMs: number;
  private readonly tokenTtlSeconds: number;
  private readonly renderIntervalMs: number;
  /** One render clock for all this data source's queries: a dashboard's panels emit together (throttle.ts). */
  private readonly renderClock: RenderClock;
  private readonly directUrl?: string;
  private _manager?: ProtocolClient;

  constructor(
    instanceSettings: DataSourceInstanceSettings<SgDataSourceOptions>,
    private readonly deps: DataSourceDeps = {}
  ) {
    super(instanceSettings);
    const jsonData = instanceSettings.jsonData ?? {};
    const location = deps.location ?? (globalThis as { location?: { protocol: string; host: string } }).location;
    const input = {
      uid: instanceSettings.uid,
      url: instanceSettings.url,
      accessMode: jsonData.accessMode,
      directUrl: jsonData.directUrl,
    };
    try {
      this.endpoints = endpoints(input, location);
    } catch (err) {
      // A half-filled configuration must not break the data source page: queries and the test
      // report it instead; REST through the proxy still works for the editors.
      this.configError = err as Error;
      this.endpoints = endpoints({ ...input, accessMode: 'proxy' }, location);
    }
    this.fetchImpl = deps.fetch ?? ((url, init) => globalThis.fetch(url, { ...init, credentials: 'same-origin' }));
    this.WebSocketImpl = deps.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
    this.pollIntervalMs = jsonData.pollIntervalMs || DEFAULT_OPTIONS.pollIntervalMs;
    this.tokenTtlSeconds = jsonData.tokenTtlSeconds || DEFAULT_OPTIONS.tokenTtlSeconds;
    this.renderIntervalMs = renderInterval(jsonData.renderIntervalMs);
    this.renderClock = createRenderClock(deps.minEmitIntervalMs ?? this.renderIntervalMs, Date.now);
    this.directUrl = jsonData.directUrl;
    this.api = new CollectorApi(this.endpoints.restBase, this.fetchImpl);
    this.annotations = {
      prepareQuery: (anno: AnnotationQuery<SgQuery>) => {
        const target = anno.target;
        if (!target?.channel) {
          return undefined;
        }
        return { ...target, refId: target.refId || 'Anno', live: false, asAnnotation: true };
      },
    };
  }

  private interpolate(value: string | undefined, scopedVars?: ScopedVars): string | undefined {
    const srv = this.deps.templateSrv;
    return value && srv ? srv().replace(value, scopedVars) : value;
  }

  /** The shared connection (the client core), created on the first live target. */
  get manager(): ProtocolClient {
    // A client closed by the collector (final refusal) is replaced on the next query.
    if (!this._manager || this._manager.state === ConnectionState.Closed) {
      if (!this.WebSocketImpl) {
        throw new Error('no WebSocket implementation available');
      }
      this._manager = new ProtocolClient({
        ...this.deps.connection,
        pollIntervalMs: this.deps.connection?.pollIntervalMs ?? this.pollIntervalMs,
        wsUrl: this.endpoints.wsUrl,
        rest: this.api,
        WebSocket: this.WebSocketImpl,
        // Direct mode: the browser's token may only subscribe, only to the channels on this
        // socket, and only for tokenTtlSeconds; the API key stays on Grafana's server.
        getToken:
          this.endpoints.accessMode === 'direct'
            ? (channels) => this.api.token({ ttlSeconds: this.tokenTtlSeconds, subscribe: channels })
            : undefined,
      });
    }
    return this._manager;
  }

  get connectionState(): ConnectionState | undefined {
    return this._manager?.state;
  }

  onConnectionState(fn: (c: StateChange) => void): () => void {
    return this.manager.onState(fn);
  }

  getDefaultQuery(_: CoreApp): Partial<SgQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(query: SgQuery): boolean {
    return !!query.channel && !query.hide;
  }

  query(request: DataQueryRequest<SgQuery>): Observable<DataQueryResponse> {
    if (this.configError) {
      return throwError(() => ({
        message: `${(this.configError as { code?: string }).code}: ${this.configError!.message}`,
      }));
    }
    const from = request.range.from.valueOf();
    const to = request.range.to.valueOf();
    const streams = request.targets
      .filter((t) => this.filterQuery(t))
      .map((t) => {
        const channel = this.interpolate(t.channel, request.scopedVars)!;
        const live = t.asAnnotation ? false : (t.live ?? DEFAULT_QUERY.live!);
        const bufferSize = Math.min(
          QUERY_LIMITS.maxBufferSize,
          Math.max(1, Math.floor(t.bufferSize || DEFAULT_QUERY.bufferSize!))
        );
        const spec: TargetSpec = {
          refId: t.refId,
          channel,
          live,
          bufferSize,
          fields: t.fields?.filter(Boolean),
          filter: this.interpolate(t.filter, request.scopedVars),
          windowMs: t.windowSeconds && t.windowSeconds > 0 ? t.windowSeconds * 1000 : Math.max(1, to - from),
          from,
          to,
          // Unique per panel and target: Grafana keeps the latest packet per key.
          key: `${this.uid}/${request.panelId ?? request.requestId}/${t.refId}/${channel}`,
          annotation: t.asAnnotation ? { textField: t.textField } : undefined,
          view: t.view,
          maxKeys: t.maxKeys,
        };
        return targetStream(spec, {
          api: this.api,
          manager: () => this.manager,
          pollIntervalMs: this.pollIntervalMs,
          minEmitIntervalMs: this.deps.minEmitIntervalMs ?? this.renderIntervalMs,
          clock: this.renderClock,
        });
      });
    return streams.length ? merge(...streams) : of({ data: [] });
  }

  /**
   * Template variables. Query syntax: `channels()` or `channels(app/*)`: channel names;
   * `fields(channel)`: field names; `values(channel, field)`: distinct values of a field among
   * the channel's last 1000 messages (contract, country, event type...).
   */
  async metricFindQuery(query: string, options?: { scopedVars?: ScopedVars }): Promise<MetricFindValue[]> {
    const q = parseVariableQuery(this.interpolate(query, options?.scopedVars) ?? '');
    if (q.kind === 'channels') {
      const channels = await this.api.channels();
      return channels
        .filter((c) => !q.pattern || matchChannel(q.pattern, c.name))
        .map((c) => ({ text: c.name, value: c.name }));
    }
    if (q.kind === 'fields') {
      const info = await this.api.channel(q.channel);
      return info.schema.fields.map((f) => ({ text: f.name, value: f.name }));
    }
    const r = await this.api.messages({ channel: q.channel, limit: q.limit, tail: true });
    const seen = new Set<string>();
    for (const m of r.messages) {
      const v = q.field === 'key' && !(q.field in m.data) ? m.key : m.data[q.field];
      if (v !== undefined && v !== null) {
        seen.add(typeof v === 'object' ? JSON.stringify(v) : String(v));
      }
    }
    return [...seen].sort().map((v) => ({ text: v, value: v }));
  }

  /** Checks REST through Grafana, auth, and the WebSocket path; the message says which step failed and what to change. */
  async testDatasource(): Promise<TestDataSourceResponse> {
    if (this.configError) {
      return { status: 'error', message: `Settings: ${this.configError.message}` };
    }
    return checkConnection({
      api: this.api,
      endpoints: this.endpoints,
      WebSocket: this.WebSocketImpl,
      tokenTtlSeconds: this.tokenTtlSeconds,
      directUrl: this.directUrl,
      pageOrigin: this.deps.location
        ? `${this.deps.location.protocol}//${this.deps.location.host}`
        : globalThis.location?.origin,
      probe: this.deps.probe ?? browserProbe,
    });
  }

  /** Closes the shared connection (tests; Grafana keeps instances for the page's lifetime). */
  dispose(): void {
    this._manager?.close();
    this._manager = undefined;
  }
}
