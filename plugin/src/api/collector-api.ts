/**
 * REST client for the collector (history, channel list, polling fallback, token). The fetch
 * implementation is injectable so Node tests pass the real global fetch against a real collector.
 */
import type {
  ChannelInfo,
  ChannelsResponse,
  ErrorBody,
  ErrorCode,
  HistoryResponse,
  MessageItem,
} from '@streamgauge/protocol';

export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }
) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  text(): Promise<string>;
}>;

/** Plugin-side failure codes (the collector's own codes come from @streamgauge/protocol). */
export const PluginErrorCode = {
  /** fetch itself failed: Grafana (or the collector in direct mode) did not answer. */
  Network: 'SG_PLUGIN_NETWORK',
  /** An HTTP error without a collector error body: Grafana's proxy (502: collector unreachable) or a reverse proxy. */
  Http: 'SG_PLUGIN_HTTP',
  /** The answer was not the JSON the protocol promises. */
  BadResponse: 'SG_PLUGIN_BAD_RESPONSE',
  /**
   * Grafana's proxy answered 400 "Authentication to data source failed": what it sends in place
   * of the collector's 401 (pkg/api/pluginproxy/ds_proxy.go), i.e. the API key was refused.
   */
  AuthFailed: 'SG_PLUGIN_AUTH_FAILED',
  /** Grafana's proxy could not reach the collector (502) or got no answer in time (504). */
  Unreachable: 'SG_PLUGIN_UNREACHABLE',
} as const;
export type PluginErrorCodeValue = (typeof PluginErrorCode)[keyof typeof PluginErrorCode];

export class CollectorApiError extends Error {
  constructor(
    readonly code: ErrorCode | PluginErrorCodeValue,
    message: string,
    readonly status: number,
    readonly url: string,
    readonly cause?: unknown
  ) {
    super(message);
    this.name = 'CollectorApiError';
  }
}

export interface MessagesQuery {
  channel: string;
  after?: number;
  from?: number;
  to?: number;
  limit?: number;
  tail?: boolean;
}

export interface TokenResponse {
  token: string;
  expiresAt: number;
}

/** GET /api/v1/snapshot: the latest message of each key, and the offset it holds at least. */
export interface SnapshotResponse {
  channel: string;
  kind: string;
  epoch: string;
  keyField: string | null;
  lastOffset: number;
  count: number;
  messages: MessageItem[];
  /** Keys were left out (over the limit, at most limits.historyMaxLimit). */
  more: boolean;
}

/** What the browser's token may do (POST /api/v1/read-token: subscribe-only, short-lived; docs/security.md). */
export interface TokenRequest {
  ttlSeconds?: number;
  /** Channels (or patterns) the token may subscribe to; absent: all the key may. It never may publish. */
  subscribe?: readonly string[];
}

/** Grafana's text for an upstream 401 (pkg/api/pluginproxy/ds_proxy.go). */
const GRAFANA_AUTH_FAILED = 'Authentication to data source failed';

export const API_DEFAULTS = {
  /** A REST call that takes longer fails with SG_PLUGIN_NETWORK (a hung proxy must not hang panels), ms. */
  requestTimeoutMs: 30_000,
};

export class CollectorApi {
  constructor(
    /** Prefix before `/api/v1/...`. */
    readonly base: string,
    private readonly fetchImpl: FetchLike,
    private readonly requestTimeoutMs = API_DEFAULTS.requestTimeoutMs
  ) {}

  private async request<T>(path: string, init?: { method?: string; body?: unknown }): Promise<T> {
    const url = `${this.base}${path}`;
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await this.fetchImpl(url, {
        method: init?.method ?? 'GET',
        headers:
          init?.body === undefined
            ? { accept: 'application/json' }
            : { accept: 'application/json', 'content-type': 'application/json' },
        body: init?.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
    } catch (err) {
      throw new CollectorApiError(
        PluginErrorCode.Network,
        `request to ${url} failed: ${(err as Error).message}`,
        0,
        url,
        err
      );
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const e = (body as ErrorBody | undefined)?.error;
      if (e && typeof e.code === 'string') {
        throw new CollectorApiError(e.code, e.message, res.status, url);
      }
      if (res.status === 400 && text.trim() === GRAFANA_AUTH_FAILED) {
        throw new CollectorApiError(
          PluginErrorCode.AuthFailed,
          `the collector rejected the API key (Grafana's proxy answered 400 "${GRAFANA_AUTH_FAILED}" for ${url}, its answer to a 401). Set the API key in this data source's settings`,
          res.status,
          url
        );
      }
      if ((res.status === 502 || res.status === 504) && text === '') {
        throw new CollectorApiError(
          PluginErrorCode.Unreachable,
          res.status === 502
            ? `Grafana's proxy could not reach the collector (HTTP 502 for ${url}): is it running, and is "Collector URL" right as Grafana's server sees it?`
            : `Grafana's proxy got no answer from the collector in time (HTTP 504 for ${url})`,
          res.status,
          url
        );
      }
      // Grafana's proxy answers {"message": ...} for its own refusals (403 route access denied).
      const grafanaMessage = (body as { message?: string } | undefined)?.message;
      throw new CollectorApiError(
        PluginErrorCode.Http,
        `HTTP ${res.status} ${res.statusText}${grafanaMessage ? `: ${grafanaMessage}` : ''} from ${url}`,
        res.status,
        url
      );
    }
    if (body === undefined) {
      throw new CollectorApiError(
        PluginErrorCode.BadResponse,
        `${url} answered ${res.status} without a JSON body`,
        res.status,
        url
      );
    }
    return body as T;
  }

  async channels(): Promise<ChannelInfo[]> {
    return (await this.request<ChannelsResponse>('/api/v1/channels')).channels;
  }

  channel(name: string): Promise<ChannelInfo> {
    return this.request<ChannelInfo>(`/api/v1/channels/${name.split('/').map(encodeURIComponent).join('/')}`);
  }

  messages(q: MessagesQuery): Promise<HistoryResponse> {
    const p = new URLSearchParams({ channel: q.channel });
    if (q.after !== undefined) {
      p.set('after', String(q.after));
    }
    if (q.from !== undefined) {
      p.set('from', String(Math.floor(q.from)));
    }
    if (q.to !== undefined) {
      p.set('to', String(Math.ceil(q.to)));
    }
    if (q.limit !== undefined) {
      p.set('limit', String(q.limit));
    }
    if (q.tail) {
      p.set('tail', '1');
    }
    return this.request<HistoryResponse>(`/api/v1/messages?${p.toString()}`);
  }

  /** The latest message per key of a state or entity channel (GET /api/v1/snapshot). */
  snapshot(channel: string, limit?: number): Promise<SnapshotResponse> {
    const p = new URLSearchParams({ channel });
    if (limit !== undefined) {
      p.set('limit', String(limit));
    }
    return this.request<SnapshotResponse>(`/api/v1/snapshot?${p.toString()}`);
  }

  status(): Promise<Record<string, unknown>> {
    return this.request<Record<string, unknown>>('/api/v1/status');
  }

  /** Direct mode: a short-lived token for the browser's socket (the API key stays on Grafana's server). */
  token(r: TokenRequest = {}): Promise<TokenResponse> {
    // read-token: the collector mints it subscribe-only whatever the key may do, and it is the one token
    // route Grafana's Viewer proxy route allows (plugin.json routes; docs/security.md).
    const body: Record<string, unknown> = r.subscribe ? { channels: [...r.subscribe] } : {};
    if (r.ttlSeconds) {
      body.ttlSeconds = r.ttlSeconds;
    }
    return this.request<TokenResponse>('/api/v1/read-token', { method: 'POST', body });
  }
}
