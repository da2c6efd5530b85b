import type { FastifyRequest } from 'fastify';
import { ANONYMOUS, type Principal } from '../auth/principal';

const PRINCIPAL = Symbol('streamgauge.principal');

export function setPrincipal(req: FastifyRequest, p: Principal): void {
  (req as unknown as Record<symbol, Principal>)[PRINCIPAL] = p;
}

/** The principal the auth hook attached to this request (anonymous when auth is off). */
export function principalOf(req: FastifyRequest): Principal {
  return (req as unknown as Record<symbol, Principal | undefined>)[PRINCIPAL] ?? ANONYMOUS;
}
