/**
 * testDatasource: REST through Grafana's proxy (reachability, then auth), then the WebSocket path
 * (the step reverse proxies most often break). Each failure names the step and what to change.
 */
import type { TestDataSourceResponse } from '@grafana/data';
import { CloseCode, ErrorCode, type ServerFrame } from '@streamgauge/protocol';
import { type CollectorApi, CollectorApiError, PluginErrorCode } from '../api/collector-api';
import type { Endpoints } from '../api/endpoints';
import type { WebSocketCtor } from './connection-manager';

export interface CheckInput {
  api: CollectorApi;
  endpoints: Endpoints;
  WebSocket?: WebSocketCtor;
  tokenTtlSeconds?: number;
  timeoutMs?: number;
}

function restFailure(err: unknown, endpoints: Endpoints): string {
  if (!(err instanceof CollectorApiError)) {
    return `REST check failed: ${(err as Error).message}`;
  }
  if (err.code === PluginErrorCode.Network) {
    return `REST: Grafana did not answer ${err.url} (${err.message}).`;
  }
  if (err.code === ErrorCode.Unauthorized || err.status === 401) {
    return `REST: the collector rejected the API key (${err.code}: ${err.message}). Set the API key in this data source's settings.`;
  }
  if (err.code === ErrorCode.Forbidden || err.status === 403) {
    return `REST: the API key lacks a scope (${err.code}: ${err.message}). Give it read scope for the channels.`;
  }
  if (err.status === 502 || err.status === 504) {
    return `REST: Grafana's proxy could not reach the collector (HTTP ${err.status}). Check "Collector URL": it must be reachable from Grafana's server, not from your browser.`;
  }
  if (err.status === 404 && err.code === PluginErrorCode.Http) {
    return `REST: ${endpoints.restBase} was not found (HTTP 404). Save the data source once so Grafana loads the plugin's proxy route, and check that "Collector URL" is set.`;
  }
  return `REST: ${err.code}: ${err.message}`;
}

function closeHint(code: number): string {
  switch (code) {
    case CloseCode.Unauthorized:
      return 'the collector rejected the credentials (4401)';
    case CloseCode.TooManyConnections:
      return 'the collector is at ws.maxConnections (4503)';
    case 1006:
      return 'the upgrade was refused or cut (1006): a reverse proxy in front of Grafana or the collector may not pass WebSocket upgrades (see the plugin docs, "Reverse proxies"), or the collector rejected the Origin (ws.allowedOrigins)';
    default:
      return `closed with ${code}`;
  }
}

/** Opens a socket, waits for welcome (and auth_ok in direct mode); resolves with a problem or undefined. */
export async function checkWebSocket(i: CheckInput): Promise<string | undefined> {
  if (!i.WebSocket) {
    return 'this browser has no WebSocket';
  }
  let token: string | undefined;
  if (i.endpoints.accessMode === 'direct') {
    try {
      token = (await i.api.token(i.tokenTtlSeconds)).token;
    } catch (err) {
      return `direct mode: POST ${i.api.base}/api/v1/token failed (${(err as Error).message}); the API key needs the token scope`;
    }
  }
  const Ws = i.WebSocket;
  return new Promise<string | undefined>((resolve) => {
    let done = false;
    let welcomed = false;
    const ws = new Ws(i.endpoints.wsUrl);
    const finish = (problem: string | undefined) => {
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
      resolve(problem);
    };
    const timer = setTimeout(
      () => finish(`no welcome from ${i.endpoints.wsUrl} within ${i.timeoutMs ?? 5_000} ms`),
      i.timeoutMs ?? 5_000
    );
    ws.onopen = () => {
      if (token) {
        ws.send(JSON.stringify({ op: 'auth', id: 'test', token }));
      }
    };
    ws.onmessage = (ev) => {
      let f: ServerFrame;
      try {
        f = JSON.parse(String(ev.data)) as ServerFrame;
      } catch {
        finish(`${i.endpoints.wsUrl} sent something that is not a Streamgauge frame`);
        return;
      }
      if (f.type === 'welcome') {
        welcomed = true;
        if (!token) {
          finish(undefined);
        }
      } else if (f.type === 'auth_ok' && welcomed) {
        finish(undefined);
      } else if (f.type === 'error') {
        finish(`${f.code}: ${f.message}`);
      }
    };
    ws.onerror = () => {
      // onclose follows with the code.
    };
    ws.onclose = (ev) => finish(`${i.endpoints.wsUrl}: ${closeHint(ev.code)}`);
  });
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
