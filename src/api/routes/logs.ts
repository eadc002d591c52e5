/** /api/v1/logs: the audit log as JSON lines, in revision order. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditRecord } from '../../inventory/audit.js';
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
      const pages = inventory.auditLog.records(request.query.since, request.query.until);
      // The first page is read before answering, so that a store error or a corrupt record there is a clean
      // error answer; one on a later page can only cut the stream short (and is logged).
      const first = await pages.next();
      const lines = Readable.from(
        (async function* () {
          const text = (records: AuditRecord[]) => records.map((r) => JSON.stringify(r) + '\n').join('');
          if (first.done) return;
          if (first.value.length > 0) yield text(first.value);
          for await (const records of pages) if (records.length > 0) yield text(records);
        })(),
      );
      return reply.type('application/x-ndjson').send(lines);
    },
  );
}
