/**
 * Origin check for WebSocket upgrades and SSE, the defence against cross-site WebSocket hijacking:
 * a page on another site must not open a socket with the user's ambient credentials.
 * Requests without an Origin header come from non-browser clients and are allowed.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined || origin === '') {
    return true;
  }
  if (allowed.includes('*')) {
    return true;
  }
  if (allowed.length > 0) {
    return allowed.includes(origin);
  }
  // Default: same host only (the page was served by the collector itself, or through the same proxy).
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * CORS response headers for a browser page on an origin listed explicitly in ws.allowedOrigins, so
 * that such a page can read REST answers and open an EventSource (a WebSocket needs no CORS).
 * Same-host pages need none, and other origins get none.
 */
export function corsHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> {
  if (!origin || !(allowed.includes('*') || allowed.includes(origin))) {
    return {};
  }
  return { 'access-control-allow-origin': origin, vary: 'Origin' };
}
