/**
 * The host's BackendSrv: what `getBackendSrv()` returns inside Grafana, reduced to plain `fetch`.
 * Like Grafana's (public/app/core/services/backend_srv.ts) it returns cold Observables of
 * FetchResponse, aborts the request on unsubscribe, serializes `data` as JSON, appends `params`,
 * and fails with a FetchError ({ status, statusText, data, config }) on non-2xx so that
 * `isFetchError()` from @grafana/runtime recognises it. Alerts, retries on 401 (session refresh)
 * and the request inspector are Grafana UI concerns and are left out.
 */
import type { BackendSrv, BackendSrvRequest, FetchError, FetchResponse } from '@grafana/runtime';
import { Observable, lastValueFrom } from 'rxjs';

/** Every request the plugin made, for the host page and the test. */
export interface RequestRecord {
  method: string;
  url: string;
  status: number;
}

export interface HostBackendSrv extends BackendSrv {
  readonly requests: RequestRecord[];
}

function buildUrl(options: BackendSrvRequest): string {
  let url = options.url;
  // Grafana resolves relative URLs against its own root (appSubUrl), never the page's path.
  if (!/^https?:\/\//.test(url) && !url.startsWith('/')) {
    url = `/${url}`;
  }
  const params = options.params ?? {};
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) {
      continue;
    }
    for (const item of Array.isArray(v) ? v : [v]) {
      query.append(k, String(item));
    }
  }
  const qs = query.toString();
  return qs ? `${url}${url.includes('?') ? '&' : '?'}${qs}` : url;
}

async function readBody(res: Response, type: BackendSrvRequest['responseType']): Promise<unknown> {
  if (type === 'text') {
    return res.text();
  }
  if (type === 'blob') {
    return res.blob();
  }
  if (type === 'arraybuffer') {
    return res.arrayBuffer();
  }
  const text = await res.text();
  if (text === '') {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function createHostBackendSrv(): HostBackendSrv {
  const requests: RequestRecord[] = [];

  const fetchObs = <T>(options: BackendSrvRequest): Observable<FetchResponse<T>> =>
    new Observable<FetchResponse<T>>((subscriber) => {
      const controller = new AbortController();
      const url = buildUrl(options);
      const method = (options.method ?? 'GET').toUpperCase();
      const headers: Record<string, string> = { 'X-Grafana-Org-Id': '1', ...(options.headers ?? {}) };
      let body: BodyInit | undefined;
      if (options.data !== undefined && method !== 'GET') {
        const isRaw =
          typeof options.data === 'string' || options.data instanceof Blob || options.data instanceof ArrayBuffer;
        body = isRaw ? (options.data as BodyInit) : JSON.stringify(options.data);
        if (!isRaw && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
          headers['Content-Type'] = 'application/json';
        }
      }
      options.abortSignal?.addEventListener('abort', () => controller.abort());
      fetch(url, {
        method,
        headers,
        body,
        signal: controller.signal,
        credentials: options.credentials ?? 'same-origin',
      })
        .then(async (res) => {
          const data = (await readBody(res, options.responseType)) as T;
          requests.push({ method, url, status: res.status });
          if (res.ok) {
            subscriber.next({
              data,
              status: res.status,
              statusText: res.statusText,
              ok: res.ok,
              headers: res.headers,
              redirected: res.redirected,
              type: res.type,
              url: res.url,
              config: options,
            });
            subscriber.complete();
            return;
          }
          const err: FetchError = {
            status: res.status,
            statusText: res.statusText,
            data,
            message: (data as { message?: string } | undefined)?.message ?? res.statusText,
            config: options,
          };
          subscriber.error(err);
        })
        .catch((e: unknown) => {
          if (controller.signal.aborted) {
            subscriber.error({
              status: -1,
              statusText: 'Request was aborted',
              data: undefined,
              cancelled: true,
              config: options,
            } satisfies FetchError);
            return;
          }
          requests.push({ method, url, status: 0 });
          subscriber.error({
            status: 0,
            statusText: String(e),
            data: undefined,
            message: String(e),
            config: options,
          } satisfies FetchError);
        });
      return () => controller.abort();
    });

  const request = <T>(options: BackendSrvRequest): Promise<T> =>
    lastValueFrom(fetchObs<T>(options)).then((r) => r.data);

  return {
    requests,
    fetch: fetchObs,
    request,
    datasourceRequest: <T>(options: BackendSrvRequest) => lastValueFrom(fetchObs<T>(options)),
    get: <T>(url: string, params?: unknown, requestId?: string, options?: Partial<BackendSrvRequest>) =>
      request<T>({ ...options, url, params: params as Record<string, unknown>, requestId, method: 'GET' }),
    delete: <T>(url: string, data?: unknown, options?: Partial<BackendSrvRequest>) =>
      request<T>({ ...options, url, data, method: 'DELETE' }),
    post: <T>(url: string, data?: unknown, options?: Partial<BackendSrvRequest>) =>
      request<T>({ ...options, url, data, method: 'POST' }),
    patch: <T>(url: string, data?: unknown, options?: Partial<BackendSrvRequest>) =>
      request<T>({ ...options, url, data, method: 'PATCH' }),
    put: <T>(url: string, data?: unknown, options?: Partial<BackendSrvRequest>) =>
      request<T>({ ...options, url, data, method: 'PUT' }),
    chunked: () => {
      throw new Error('host BackendSrv: chunked() is not provided by the test host');
    },
  };
}
