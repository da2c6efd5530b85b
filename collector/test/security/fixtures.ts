/** Keys and config shared by the security tests. The keys are test values, not secrets. */
import { createHash } from 'node:crypto';

export const PUB_KEY = 'pub-key-0123456789abcdef';
export const READER_KEY = 'reader-key-0123456789abcdef';
export const ADMIN_KEY = 'admin-key-0123456789abcdef';
export const TOKEN_SECRET = 'test-secret-0123456789abcdef-0123456789';

export const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex');

/** publisher: app/** both ways; reader: subscribe app/public/* only (key stored as a hash); admin via keyEnv. */
export function authConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    keys: [
      { name: 'publisher', key: PUB_KEY, scopes: { publish: ['app/**'], subscribe: ['app/**'] } },
      { name: 'reader', keyHash: sha256hex(READER_KEY), scopes: { subscribe: ['app/public/*'] } },
      { name: 'ops', keyEnv: 'SG_TEST_ADMIN_KEY', scopes: { publish: ['**'], subscribe: ['**'], admin: true } },
    ],
    tokens: { secret: TOKEN_SECRET },
    ...extra,
  };
}

export const AUTH_ENV = { SG_TEST_ADMIN_KEY: ADMIN_KEY };

export const bearer = (k: string): Record<string, string> => ({ authorization: `Bearer ${k}` });

export async function mintToken(url: string, key: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}/api/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(key) },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(url, { headers });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: r.status, body, headers: r.headers };
}

/** Value of one sample in a Prometheus exposition, e.g. metric('streamgauge_rate_limited_total{kind="publish"}'). */
export function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
