/**
 * testDatasource: REST through Grafana's proxy (reachability, then auth), then the WebSocket path
 * (the step reverse proxies most often break). Each failure a user meets gets its own message that
 * says what failed and what to change: a wrong API key, the collector down, a wrong collector URL,
 * a proxy refusing upgrades, a direct URL the browser cannot reach, a direct URL refusing this
 * page's origin.
 */
import type { TestDataSourceResponse } from '@grafana/data';
import type { WebSocketCtor } from '@streamgauge/client';
import { CloseCode, ErrorCode, type ServerFrame } from '@streamgauge/protocol';
import { type CollectorApi, CollectorApiError, PluginErrorCode } from '../api/collector-api';
import type { Endpoints } from '../api/endpoints';

export interface CheckInput {
  api: CollectorApi;
  endpoints: Endpoints;
  WebSocket?: WebSocketCtor;
  tokenTtlSeconds?: number;
  timeoutMs?: number;
  /** Direct mode: the Browser URL as configured (for messages and the reachability probe). */
  directUrl?: string;
  /** The page's origin (what the collector sees in Origin in direct mode). */
  pageOrigin?: string;
  /**
   * Direct mode: resolves true when the browser reaches `url` at all (an opaque no-cors answer
   * counts), false when the network refuses it. Tells "unreachable" from "origin refused", which a
   * browser's WebSocket reports alike (1006).
   */
  probe?: (url: string) => Promise<boolean>;
}

export const REVERSE_PROXY_HINT = 'docs/plugin.md, "Reverse proxies"';

function restFailure(err: unknown, endpoints: Endpoints): string {
  if (!(err instanceof CollectorApiError)) {
    return `REST check failed: ${(err as Error).message}`;
  }
  switch (err.code) {
    case PluginErrorCode.AuthFailed:
      return `REST: the collector rejected the API key: Grafana's proxy answered 400 "Authentication to data source failed", its answer when the collector says 401. Set the API key in this data source's settings (it must be one of the collector's auth.keys).`;
    case ErrorCode.Unauthorized:
      return `REST: the collector rejected the API key (${err.code}: ${err.message}). Set the API key in this data source's settings.`;
    case ErrorCode.Forbidden:
      return `REST: the API key lacks a scope (${err.code}: ${err.message}). Give it subscribe scope for the channels.`;
    case PluginErrorCode.Unreachable:
      return err.status === 504
        ? `REST: the collector did not answer Grafana's proxy in time (HTTP 504). Check that it is healthy (GET /readyz) and that nothing between Grafana and the collector holds requests.`
        : `REST: the collector is down or unreachable from Grafana's server: Grafana's proxy answered 502. Check that the collector runs and that "Collector URL" is its address as Grafana's server reaches it (not as your browser does).`;
    case PluginErrorCode.Network:
      return `REST: Grafana did not answer ${err.url} (${err.message}).`;
    default:
      break;
  }
  if (err.status === 403 && /access denied/.test(err.message)) {
    return `REST: Grafana refused the data source route for your role (${err.message}). Ask an admin for the role the route needs.`;
  }
  if (
    err.code === PluginErrorCode.Http ||
    err.code === PluginErrorCode.BadResponse ||
    err.code === ErrorCode.NotFound
  ) {
    return `REST: "Collector URL" does not point at a Streamgauge collector: ${endpoints.restBase}/api/v1/status answered ${err.status ? `HTTP ${err.status}` : 'something else'} without a Streamgauge answer (${err.message}). Set it to the collector's base URL as Grafana's server reaches it, e.g. http://collector:8080, without /api.`;
  }
  return `REST: ${err.code}: ${err.message}`;
}

interface SocketOutcome {
  /** undefined when welcome (and auth_ok) came. */
  problem?: string;
  /** The close code, when the socket closed before that. */
  code?: number;
  /** Whether the socket opened at all. */
  opened: boolean;
}

/** Opens a socket, waits for welcome (and auth_ok in direct mode). */
function trySocket(
  Ws: WebSocketCtor,
  url: string,
  token: string | undefined,
  timeoutMs: number
): Promise<SocketOutcome> {
  return new Promise<SocketOutcome>((resolve) => {
    let done = false;
    let welcomed = false;
    let opened = false;
    const ws = new Ws(url);
    const finish = (o: Omit<SocketOutcome, 'opened'>) => {
      if (done) {
        return;
      }
      done = true;
      clearTimeout(timer);
      ws.onclose = null;
      try {
        ws.close(CloseCode.Normal, 'test done');
      } catch {
        // closed already
      }
      resolve({ ...o, opened });
    };
    const timer = setTimeout(() => finish({ problem: `no welcome within ${timeoutMs} ms` }), timeoutMs);
    ws.onopen = () => {
      opened = true;
      if (token) {
        ws.send(JSON.stringify({ op: 'auth', id: 'test', token }));
      }
    };
    ws.onmessage = (ev) => {
      let f: ServerFrame;
      try {
        f = JSON.parse(String(ev.data)) as ServerFrame;
      } catch {
        finish({ problem: 'it sent something that is not a Streamgauge frame' });
        return;
      }
      if (f.type === 'welcome') {
        welcomed = true;
        if (!token) {
          finish({});
        }
      } else if (f.type === 'auth_ok' && welcomed) {
        finish({});
      } else if (f.type === 'error') {
        finish({ problem: `${f.code}: ${f.message}` });
      }
    };
    ws.onerror = () => {
      // onclose follows with the code.
    };
    ws.onclose = (ev) => finish({ problem: `closed with ${ev.code}`, code: ev.code });
  });
}

function closeProblem(code: number | undefined): string | undefined {
  switch (code) {
    case CloseCode.Unauthorized:
      return 'the collector rejected the credentials (4401)';
    case CloseCode.TooManyConnections:
      return 'the collector is at ws.maxConnections (4503)';
    default:
      return undefined;
  }
}

/** Checks the WebSocket path; resolves with a problem (what failed and what to do) or undefined. */
export async function checkWebSocket(i: CheckInput): Promise<string | undefined> {
  if (!i.WebSocket) {
    return 'this browser has no WebSocket';
  }
  const direct = i.endpoints.accessMode === 'direct';
  let token: string | undefined;
  if (direct) {
    try {
      // The same kind of token panels use: subscribe only, short-lived (no channel yet).
      token = (await i.api.token({ ttlSeconds: Math.min(60, i.tokenTtlSeconds ?? 60), subscribe: [] })).token;
    } catch (err) {
      return `direct mode: POST /api/v1/read-token through Grafana's proxy failed (${(err as Error).message}); the API key needs a subscribe scope and the collector auth.tokens`;
    }
  }
  const timeoutMs = i.timeoutMs ?? 5_000;
  const r = await trySocket(i.WebSocket, i.endpoints.wsUrl, token, timeoutMs);
  if (!r.problem) {
    return undefined;
  }
  const known = closeProblem(r.code);
  if (known) {
    return `${i.endpoints.wsUrl}: ${known}`;
  }
  if (r.code === undefined || r.opened) {
    return `${i.endpoints.wsUrl}: ${r.problem}`;
  }
  // The upgrade failed before the socket opened (browsers report 1006 and nothing else).
  if (!direct) {
    return `the upgrade of ${i.endpoints.wsUrl} was refused (${r.code}) although REST through the same proxy works: a reverse proxy in front of Grafana does not pass WebSocket upgrades (it must forward the Upgrade and Connection headers; see ${REVERSE_PROXY_HINT}), or Grafana refused the page's Origin (its CSRF check: Grafana's root_url must be the address in the browser)`;
  }
  const url = i.directUrl ?? i.endpoints.wsUrl;
  const reachable = i.probe ? await i.probe(url).catch(() => false) : undefined;
  if (reachable === false) {
    return `the browser cannot reach the Browser URL ${url} (${r.code}): it must be the collector's address as browsers see it (with TLS when Grafana uses https), or use proxy access`;
  }
  return `the collector at ${url} refused the socket (${r.code})${reachable ? ' although the browser reaches it' : ''}: most likely it refused this page's origin${i.pageOrigin ? ` ${i.pageOrigin}` : ''} (SG_ORIGIN_FORBIDDEN, the CORS check of browsers): add it to the collector's ws.allowedOrigins (SG_ALLOWED_ORIGINS)`;
}

export async function checkConnection(i: CheckInput): Promise<TestDataSourceResponse> {
  let channels: number;
  try {
    await i.api.status();
    channels = (await i.api.channels()).length;
  } catch (err) {
    return { status: 'error', message: restFailure(err, i.endpoints) };
  }
  const wsProblem = await checkWebSocket(i);
  const via = i.endpoints.accessMode === 'direct' ? 'directly' : "through Grafana's proxy";
  if (wsProblem) {
    return {
      status: 'warning',
      message: `REST works (${channels} channels), but WebSocket ${via} failed: ${wsProblem}. Live panels fall back to REST polling.`,
    };
  }
  return {
    status: 'success',
    message: `Collector reachable: REST and WebSocket ${via} work; ${channels} channels visible.`,
  };
}
