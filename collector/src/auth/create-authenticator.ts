import type { Config } from '../config/load-config';
import type { Logger } from '../logger';
import type { AuthConfig } from './config';
import { createKeyAuthenticator } from './key-authenticator';
import { KeyStore } from './key-store';
import { createOpenAuthenticator } from './open-authenticator';
import type { Authenticator } from './principal';
import { createTokenIssuer } from './token-issuer';

/**
 * Picks the authenticator the config asks for: keys configured → API keys and tokens; none → open.
 * app.ts uses createSecurity (which also counts refusals); this is for tools and tests that only
 * need the decision.
 */
export function createAuthenticator(config: Config, logger: Logger): Authenticator {
  const c = config.auth as AuthConfig;
  const keys = new KeyStore(c.keys);
  return keys.size > 0 ? createKeyAuthenticator({ keys, tokens: createTokenIssuer(c.tokens), logger }) : createOpenAuthenticator();
}
