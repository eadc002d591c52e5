/** /api/v1/crypts: disk-encryption key escrow (served on the TLS listener when there is one). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { invalid } from '../../lib/errors.js';
import type { Inventory } from '../../inventory/inventory.js';
import { serial } from '../../inventory/model.js';
import { actorOf } from '../access.js';

const MAX_KEY_BYTES = 4096;
const keyParams = z.strictObject({
  serial,
  path: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be 1–128 characters of [A-Za-z0-9._-]'),
});

export function cryptRoutes(app: FastifyInstance, inventory: Inventory): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { crypts } = inventory;
  api.put(
    '/api/v1/crypts/:serial/:path',
    {
      config: { access: 'machine' },
      bodyLimit: MAX_KEY_BYTES,
      schema: { summary: 'Escrow a disk key (raw bytes, create-only)', params: keyParams },
    },
    async (request, reply) => {
      const body = request.body;
      const key = Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body) : Buffer.alloc(0);
      if (key.length === 0) throw invalid('the key is empty: send its raw bytes as the body', 'body');
      await crypts.put(request.params.serial, request.params.path, key, actorOf(request));
      return reply.code(201).send({ status: 201, path: request.params.path });
    },
  );
  api.get(
    '/api/v1/crypts/:serial/:path',
    { config: { access: 'machine' }, schema: { summary: 'Fetch a disk key', params: keyParams } },
    async (request, reply) =>
      reply.type('application/octet-stream').send(await crypts.get(request.params.serial, request.params.path)),
  );
  api.delete(
    '/api/v1/crypts/:serial',
    {
      config: { access: 'write' },
      schema: { summary: 'Delete every disk key of a retiring machine; returns their paths', params: z.strictObject({ serial }) },
    },
    async (request) => crypts.deleteAll(request.params.serial, actorOf(request)),
  );
}
