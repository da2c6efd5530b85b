/** Who may call each collector route: the route-table walk fails until a new route is listed here. */
import type { RouteAccess } from '../../src/http/route-access';

/** Who may call each route. A new route fails the first test until it is listed here. */
export const EXPECTED_ROUTES: Record<string, string> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'POST /api/v1/publish': 'publish',
  'POST /api/v1/alerts/webhook': 'publish',
  'POST /api/v1/token': 'any, key only',
  'POST /api/v1/read-token': 'subscribe, key only',
  'POST /api/v1/stream-ticket': 'subscribe',
  'GET /api/v1/admin/keys': 'admin',
  'GET /api/v1/channels': 'subscribe',
  'GET /api/v1/channels/*': 'subscribe',
  'GET /api/v1/messages': 'subscribe',
  'GET /api/v1/snapshot': 'subscribe',
  'GET /api/v1/status': 'any',
  'GET /api/v1/stream': 'subscribe',
};

/** A concrete path for a route pattern. */
export const concrete = (url: string): string => url.replace('/*', '/app/public/a');

/** How EXPECTED_ROUTES writes a route's access. */
export const accessLabel = (a: RouteAccess): string => (a.keyOnly ? `${a.scope}, key only` : a.scope);
