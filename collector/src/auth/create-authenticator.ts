import type { Config } from '../config/load-config';
import type { Logger } from '../logger';
import { createOpenAuthenticator } from './open-authenticator';
import type { Authenticator } from './principal';

/** Picks the authenticator the config asks for. */
export function createAuthenticator(_config: Config, _logger: Logger): Authenticator {
  return createOpenAuthenticator();
}
