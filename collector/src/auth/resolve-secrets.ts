/**
 * Resolves the `…Env` options of the auth section (keys[].keyEnv, tokens.secretEnv,
 * metrics.bearerTokenEnv) from the environment that config/load-config.ts passes in, and checks
 * what a JSON schema cannot: one source per key, unique names, valid scope patterns, key files.
 * Returns problems (each names the option and what to change); mutates `auth` before it is frozen.
 */
import { accessSync, constants } from 'node:fs';
import type { AuthConfig } from './config';
import { isScopePattern } from './scopes';

export function resolveAuthSecrets(auth: AuthConfig, env: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  auth.keys.forEach((k, i) => {
    const where = `auth.keys[${i}] (${k.name})`;
    const sources = [k.key, k.keyHash, k.keyEnv].filter((v) => v !== undefined).length;
    if (sources !== 1) {
      problems.push(`${where}: give exactly one of key, keyHash (sha256 hex, preferred) or keyEnv`);
    }
    if (k.keyEnv !== undefined) {
      const v = env[k.keyEnv];
      if (!v) {
        problems.push(`${where}: environment variable ${k.keyEnv} (keyEnv) is not set`);
      } else if (v.length < 16) {
        problems.push(`${where}: the key in ${k.keyEnv} is shorter than 16 characters`);
      } else {
        k.key = v;
        delete k.keyEnv;
      }
    }
    if (names.has(k.name)) {
      problems.push(`${where}: name is used twice`);
    }
    names.add(k.name);
    for (const kind of ['publish', 'subscribe'] as const) {
      (k.scopes[kind] ?? []).forEach((p, j) => {
        if (!isScopePattern(p)) {
          problems.push(
            `${where}.scopes.${kind}[${j}] ${JSON.stringify(p)}: not a channel name or pattern (e.g. app/scans, app/*, evm/**, **)`,
          );
        }
      });
    }
  });
  const t = auth.tokens;
  if (t.secretEnv) {
    const v = env[t.secretEnv];
    if (!v) {
      problems.push(`auth.tokens.secretEnv: environment variable ${t.secretEnv} is not set`);
    } else {
      t.secret = v;
    }
  }
  if (t.algorithm === 'HS256' && t.secret && t.secret.length < 32) {
    problems.push('auth.tokens.secret: an HS256 secret needs at least 32 characters (e.g. openssl rand -base64 48)');
  }
  if (t.algorithm !== 'HS256') {
    for (const f of ['privateKeyFile', 'publicKeyFile'] as const) {
      if (!t[f]) {
        problems.push(`auth.tokens.${f}: required for ${t.algorithm} (a PEM file)`);
      } else {
        try {
          accessSync(t[f], constants.R_OK);
        } catch {
          problems.push(`auth.tokens.${f}: cannot read ${t[f]}`);
        }
      }
    }
  }
  const m = auth.metrics;
  if (m.bearerTokenEnv) {
    const v = env[m.bearerTokenEnv];
    if (!v) {
      problems.push(`auth.metrics.bearerTokenEnv: environment variable ${m.bearerTokenEnv} is not set`);
    } else {
      m.bearerToken = v;
    }
  }
  if (m.bearerToken && m.bearerToken.length < 16) {
    problems.push('auth.metrics.bearerToken: use at least 16 characters');
  }
  return problems;
}
