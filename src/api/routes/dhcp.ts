/** /api/v1/dhcp/leases: the DHCP leases in the store, for operators and tools. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { leaseEntries } from '../../boot/dhcp/lease-view.js';
import { DhcpLeaseRepository } from '../../boot/dhcp/leases.js';
import type { Store } from '../../store/interface.js';

export function dhcpRoutes(app: FastifyInstance, store: Store): void {
  const leases = new DhcpLeaseRepository(store);
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/v1/dhcp/leases',
    {
      schema: {
        summary: 'DHCP leases in address order: current ones, or every one with ?all=true (expired included)',
        querystring: z.strictObject({ all: z.enum(['true', 'false']).optional() }),
      },
    },
    async (request) => leaseEntries(await leases.list({ all: request.query.all === 'true' })),
  );
}
