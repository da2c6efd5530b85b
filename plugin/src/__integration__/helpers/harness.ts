/**
 * Drives the real DataSource class in Node: real fetch, `ws` as WebSocket, a fake Grafana proxy in
 * front of a real collector process. Collects query emissions and waits for conditions.
 */
import {
  type DataFrame,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  dateTime,
} from '@grafana/data';
import WebSocket from 'ws';
import type { Observable, Subscription } from 'rxjs';
import { DataSource, type DataSourceDeps } from '../../datasource';
import type { WebSocketCtor } from '@streamgauge/client';
import type { SgDataSourceOptions, SgQuery } from '../../types';
import type { FakeGrafanaProxy } from './fake-grafana-proxy';

export const UID = 'sg-test';

export function makeDataSource(
  proxy: FakeGrafanaProxy,
  jsonData: Partial<SgDataSourceOptions> = {},
  deps: DataSourceDeps = {}
): DataSource {
  const settings = {
    id: 1,
    uid: UID,
    type: 'streamgauge-live-datasource',
    name: 'Streamgauge',
    url: proxy.dsUrl,
    access: 'proxy',
    jsonData: { accessMode: 'proxy', ...jsonData },
    meta: {} as DataSourceInstanceSettings['meta'],
    readOnly: false,
  } as unknown as DataSourceInstanceSettings<SgDataSourceOptions>;
  return new DataSource(settings, {
    WebSocket: WebSocket as unknown as WebSocketCtor,
    fetch: (url, init) => fetch(url, init),
    location: { protocol: 'http:', host: new URL(proxy.origin).host },
    minEmitIntervalMs: 20,
    ...deps,
    connection: {
      minReconnectDelayMs: 50,
      maxReconnectDelayMs: 300,
      idleCloseMs: 100,
      ...deps.connection,
    },
  });
}

export function request(
  targets: Array<Partial<SgQuery>>,
  o: { panelId?: number; fromMs?: number; toMs?: number } = {}
): DataQueryRequest<SgQuery> {
  const to = o.toMs ?? Date.now();
  const from = o.fromMs ?? to - 3_600_000;
  return {
    requestId: `r${Math.random()}`,
    panelId: o.panelId ?? 1,
    interval: '1s',
    intervalMs: 1000,
    range: { from: dateTime(from), to: dateTime(to), raw: { from: 'now-1h', to: 'now' } },
    scopedVars: {},
    timezone: 'utc',
    app: 'dashboard',
    startTime: Date.now(),
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), ...t })) as SgQuery[],
  } as DataQueryRequest<SgQuery>;
}

/** Subscribes to a query and keeps every emission, the latest per key, and errors. */
export class QueryWatcher {
  readonly emissions: DataQueryResponse[] = [];
  readonly latest = new Map<string, DataQueryResponse>();
  errors: unknown[] = [];
  completed = false;
  private sub: Subscription;

  constructor(obs: Observable<DataQueryResponse>) {
    this.sub = obs.subscribe({
      next: (r) => {
        this.emissions.push(r);
        this.latest.set(r.key ?? '', r);
      },
      error: (e) => this.errors.push(e),
      complete: () => {
        this.completed = true;
      },
    });
  }

  /** Values of a field in the latest frame for the key containing `keyPart` (the only key when omitted). */
  values(field: string, keyPart = ''): unknown[] {
    for (const [k, r] of this.latest) {
      if (k.includes(keyPart)) {
        const f = r.data[0]?.fields.find((x: { name: string }) => x.name === field);
        return f ? [...f.values] : [];
      }
    }
    return [];
  }

  frame(keyPart = ''): DataFrame | undefined {
    for (const [k, r] of this.latest) {
      if (k.includes(keyPart)) {
        return r.data[0];
      }
    }
    return undefined;
  }

  stop(): void {
    this.sub.unsubscribe();
  }
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) {
        return v;
      }
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

export const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
