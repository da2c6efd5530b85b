import { ErrorCode } from '@streamgauge/protocol';
import { sgError } from '../errors';
import { ANONYMOUS, type Authenticator } from './principal';

/** No keys configured: everyone is anonymous with every scope (the collector then listens on loopback only). */
export function createOpenAuthenticator(): Authenticator {
  return {
    enabled: false,
    fromHeaders: () => ANONYMOUS,
    authenticate: async () => ANONYMOUS,
    fromToken: async () => {
      throw sgError(ErrorCode.Unauthorized, 'tokens are not accepted: no API keys are configured');
    },
  };
}
