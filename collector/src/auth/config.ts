/**
 * Authentication options. Placeholder until the security issue lands: with no keys the collector
 * is open, and only on loopback (see server.host).
 */
export interface AuthConfig {
  /** Allow listening on a non-loopback address with no API keys configured. */
  allowInsecure: boolean;
}

export const AUTH_DEFAULTS: AuthConfig = {
  allowInsecure: false,
};

export const authConfigSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    allowInsecure: { type: 'boolean' },
  },
};
