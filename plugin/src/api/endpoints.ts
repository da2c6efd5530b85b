/**
 * Where the browser sends REST calls and opens the socket. In proxy mode everything goes through
 * Grafana's data source proxy, route `sg` of plugin.json: `/api/datasources/proxy/uid/<uid>/sg/...`
 * (Grafana strips the route path and adds the API key). In direct mode the socket goes to the
 * browser-facing collector URL and REST still goes through Grafana (it fetches the token too).
 */
import { type AccessMode, PROXY_ROUTE } from '../types';

export interface EndpointInput {
  uid: string;
  /** instanceSettings.url: `/api/datasources/proxy/uid/<uid>` for proxy-access data sources. */
  url?: string;
  accessMode?: AccessMode;
  directUrl?: string;
}

export interface Endpoints {
  /** Prefix for `/api/v1/...` REST paths. */
  restBase: string;
  /** Absolute ws:// or wss:// URL of the collector socket. */
  wsUrl: string;
  accessMode: AccessMode;
}

export class EndpointError extends Error {
  readonly code = 'SG_PLUGIN_BAD_URL';
}

/** http -> ws, https -> wss; a path is resolved against the page's location (Grafana's origin). */
export function toWebSocketUrl(httpUrl: string, location?: { protocol: string; host: string }): string {
  if (/^wss?:\/\//i.test(httpUrl)) {
    return httpUrl;
  }
  if (/^https?:\/\//i.test(httpUrl)) {
    return httpUrl.replace(/^http/i, 'ws');
  }
  if (!location) {
    throw new EndpointError(`cannot make a WebSocket URL from ${httpUrl} without the page location`);
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}${httpUrl.startsWith('/') ? '' : '/'}${httpUrl}`;
}

const trimSlash = (s: string) => s.replace(/\/+$/, '');

export function endpoints(input: EndpointInput, location?: { protocol: string; host: string }): Endpoints {
  const accessMode = input.accessMode ?? 'proxy';
  const proxyBase = `${trimSlash(input.url || `/api/datasources/proxy/uid/${input.uid}`)}/${PROXY_ROUTE}`;
  if (accessMode === 'direct') {
    if (!input.directUrl) {
      throw new EndpointError(
        'direct mode needs the browser-facing collector URL (Browser URL in the data source settings)'
      );
    }
    return { accessMode, restBase: proxyBase, wsUrl: `${toWebSocketUrl(trimSlash(input.directUrl))}/ws` };
  }
  return { accessMode, restBase: proxyBase, wsUrl: toWebSocketUrl(`${proxyBase}/ws`, location) };
}
