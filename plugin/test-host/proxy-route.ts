/**
 * Grafana's data source proxy routes (plugin.json `routes`), as pkg/api/pluginproxy applies them:
 * pick the route whose path prefixes the proxied path (and whose method matches), build the
 * upstream URL from the route's `url` plus the rest of the path, and fill `{{ .JsonData.x }}` /
 * `{{ .SecureJsonData.x }}` templates in the URL and headers.
 */

export interface PluginRoute {
  path: string;
  method?: string;
  url?: string;
  headers?: Array<{ name: string; content: string }>;
  urlParams?: Array<{ name: string; content: string }>;
  /** Viewer | Editor | Admin: checked by ds_proxy.go validateRequest on the matched route. */
  reqRole?: string;
  /** Not what limits a route in ds_proxy.go (every proxied request is signed in already). */
  reqSignedIn?: boolean;
}

/**
 * Grafana's route templates: `{{ .JsonData.name }}` and `{{ .SecureJsonData.name }}`, rendered by
 * Go's text/template (pkg/api/pluginproxy/utils.go), which prints a missing key as `<no value>`.
 */
export function interpolateRoute(
  template: string,
  jsonData: Record<string, unknown>,
  secure: Record<string, string>
): string {
  return template.replace(/\{\{\s*\.(JsonData|SecureJsonData)\.(\w+)\s*\}\}/g, (_m, where: string, name: string) => {
    const v = where === 'JsonData' ? jsonData[name] : secure[name];
    return v === undefined || v === null ? '<no value>' : String(v);
  });
}

/** Grafana's util.CleanRelativePath, enough for route matching: no leading `/`, no `.` or empty segments. */
function cleanRelative(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

/**
 * The route Grafana's DataSourceProxy uses: the first in plugin.json order whose method matches and
 * whose cleaned path is a string prefix of the cleaned proxied path (`sg` also matches `sgx/…`,
 * exactly as in Grafana).
 */
export function matchRoute(routes: PluginRoute[], proxyPath: string, method: string): PluginRoute | undefined {
  const p = cleanRelative(proxyPath);
  return routes.find(
    (r) => (!r.method || r.method === '*' || r.method === method) && p.startsWith(cleanRelative(r.path))
  );
}

/** What follows the route path in the proxied path (ApplyRoute: TrimPrefix(proxyPath, route.Path)). */
export function routeRest(route: PluginRoute, proxyPath: string): string {
  return cleanRelative(proxyPath).slice(cleanRelative(route.path).length);
}

/** The route URL with the rest of the proxied path appended, and the original query string. */
export function joinUrl(base: string, rest: string, search: string): URL {
  const u = new URL(base);
  const basePath = u.pathname.replace(/\/+$/, '');
  const restPath = rest.replace(/^\/+/, '');
  u.pathname = restPath ? `${basePath}/${restPath}` : basePath || '/';
  u.search = search;
  return u;
}
