/**
 * Access checks as a fastify hook: each route declares in its config whether
 * it reads, writes, or is a crypt route (open to the machines themselves, as
 * in sabakan); the hook decides with decideAccess and records the actor.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../inventory/audit.js';
import { type AuthPolicy, decideAccess } from './auth.js';

export type AccessKind = 'read' | 'write' | 'machine';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessKind;
  }
  interface FastifyRequest {
    tokenUser?: string;
  }
}

export function enforceAccess(app: FastifyInstance, policy: AuthPolicy): void {
  app.addHook('onRequest', async (request, reply) => {
    const kind = request.routeOptions.config.access ?? 'read';
    const write = kind === 'write';
    // Crypt routes are how machines escrow their own disk keys: readable and writable like reads.
    const decision = decideAccess(policy, request.ip, request.headers.authorization, write);
    if (!decision.allowed) return reply.code(decision.status).send({ error: decision.reason });
    request.tokenUser = decision.user;
  });
}

/** Who the audit log names: the token's name, else the X-Sabakan-User header (sabactl sends the local user). */
export function actorOf(request: FastifyRequest): Actor {
  const header = request.headers['x-sabakan-user'];
  const claimed = Array.isArray(header) ? header[0] : header;
  return { user: request.tokenUser ?? claimed ?? '', ip: request.ip };
}
