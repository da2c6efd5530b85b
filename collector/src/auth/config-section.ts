import type { ConfigSection } from '../config/section';
import { AUTH_DEFAULTS, type AuthConfig, authConfigSchema } from './config';
import { resolveAuthSecrets } from './resolve-secrets';

/** The `auth` section of the configuration (registered in collector-config.ts). */
export const authSection: ConfigSection<AuthConfig> = {
  key: 'auth',
  defaults: AUTH_DEFAULTS,
  schema: authConfigSchema,
  env: {
    SG_ALLOW_INSECURE: { path: ['allowInsecure'], type: 'bool' },
    SG_TOKEN_SECRET: { path: ['tokens', 'secret'], type: 'string' },
    SG_METRICS_TOKEN: { path: ['metrics', 'bearerToken'], type: 'string' },
    SG_METRICS_PORT: { path: ['metrics', 'port'], type: 'int' },
  },
  // keyEnv/secretEnv/bearerTokenEnv are read from `env` here, at load (auth/resolve-secrets.ts).
  problems: (auth, env) => resolveAuthSecrets(auth, env),
};
