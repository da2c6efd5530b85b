/**
 * The subscriber's REST reads, over the collector's history endpoint (GET /api/v1/messages) with
 * the SDK's fetch: the client core fills holes with them and, when WebSocket upgrades are refused
 * while REST works (a proxy or firewall that blocks upgrades), polls with them until the socket
 * works again (docs/sdk.md, "Polling fallback").
 */
import type { HistoryQuery, RestReader } from '@streamgauge/client';
import type { ErrorBody, HistoryResponse } from '@streamgauge/protocol';
import { SdkErrorCode, StreamgaugeError } from './errors';

export interface RestReaderOptions {
  /** The collector's HTTP base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Each read is abandoned after this long, ms (default 10,000). */
  timeoutMs?: number;
}

/** `ws://host:port/ws` → `http://host:port` (and wss → https): the collector serves both on one port. */
export function restUrlFromWsUrl(wsUrl: string): string {
  return wsUrl
    .replace(/^ws(s?):\/\//i, 'http$1://')
    .replace(/\/ws\/?$/, '')
    .replace(/\/$/, '');
}

export function createRestReader(o: RestReaderOptions): RestReader {
  if (!/^https?:\/\//i.test(o.url)) {
    throw new TypeError(`restUrl must start with http:// or https://, got ${JSON.stringify(o.url)}`);
  }
  const base = o.url.replace(/\/$/, '');
  const doFetch = o.fetch ?? fetch;
  const timeoutMs = o.timeoutMs ?? 10_000;

  async function get<T>(path: string): Promise<T> {
    const url = `${base}${path}`;
    let res: Response;
    let text: string;
    try {
      res = await doFetch(url, {
        headers: o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {},
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const timeout = (err as Error).name === 'TimeoutError';
      throw new StreamgaugeError(
        timeout ? SdkErrorCode.Timeout : SdkErrorCode.Network,
        timeout ? `no answer from ${url} within ${timeoutMs} ms` : `cannot reach ${url}: ${(err as Error).message}`,
        { retryable: true, cause: err },
      );
    }
    if (res.ok) {
      return JSON.parse(text) as T;
    }
    let body: ErrorBody | undefined;
    try {
      body = JSON.parse(text) as ErrorBody;
    } catch {
      // not JSON: a proxy's page
    }
    throw new StreamgaugeError(body?.error?.code ?? 'SG_INTERNAL', body?.error?.message ?? `HTTP ${res.status}: ${text.slice(0, 200)}`, {
      status: res.status,
      retryable: res.status === 429 || res.status >= 500,
    });
  }

  return {
    messages(q: HistoryQuery): Promise<HistoryResponse> {
      const p = new URLSearchParams({ channel: q.channel });
      if (q.after !== undefined) {
        p.set('after', String(q.after));
      }
      if (q.limit !== undefined) {
        p.set('limit', String(q.limit));
      }
      if (q.tail) {
        p.set('tail', '1');
      }
      return get<HistoryResponse>(`/api/v1/messages?${p.toString()}`);
    },
    status(): Promise<unknown> {
      return get<unknown>('/api/v1/status');
    },
  };
}
