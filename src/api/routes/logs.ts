/** /api/v1/logs: the audit log as JSON lines, in revision order. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Inventory } from '../../inventory/inventory.js';

const day = z
  .string()
  .regex(/^\d{8}$/, 'must be a date as YYYYMMDD')
  .refine((d) => {
    const date = new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T00:00:00Z`);
    return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10).replaceAll('-', '') === d;
  }, 'is not a calendar date');

export function logRoutes(app: FastifyInstance, inventory: Inventory): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/v1/logs',
    {
      schema: {
        summary: 'Audit records of the days [since, until) (UTC)',
        querystring: z.strictObject({ since: day.optional(), until: day.optional() }),
      },
    },
    async (request, reply) => {
      const pages = inventory.logs(request.query.since, request.query.until);
      const lines = Readable.from(
        (async function* () {
          for await (const records of pages) if (records.length > 0) yield records.map((r) => JSON.stringify(r) + '\n').join('');
        })(),
      );
      return reply.type('application/x-ndjson').send(lines);
    },
  );
}
