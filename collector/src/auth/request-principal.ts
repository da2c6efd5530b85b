import type { FastifyRequest } from 'fastify';
import { ErrorCode } from '@streamgauge/protocol';
import type { Principal } from './principal';
import { sgError } from '../errors';

const PRINCIPAL = Symbol('streamgauge.principal');

export function setPrincipal(req: FastifyRequest, p: Principal): void {
  (req as unknown as Record<symbol, Principal>)[PRINCIPAL] = p;
}

/**
 * The principal the authorization hook (authorize.ts) attached to this request. A request without
 * one never falls back to an anonymous principal: it fails closed (a public route asking for a
 * principal is a bug, answered 500 rather than served with every scope).
 */
export function principalOf(req: FastifyRequest): Principal {
  const p = (req as unknown as Record<symbol, Principal | undefined>)[PRINCIPAL];
  if (!p) {
    throw sgError(ErrorCode.Internal, 'no principal for this request');
  }
  return p;
}
