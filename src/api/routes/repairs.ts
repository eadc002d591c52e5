/** /api/v1/repairs: the repair queue (docs/repairs.md): see it, pause and resume it, cancel one machine's repair. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Inventory } from '../../inventory/inventory.js';
import { serial } from '../../inventory/model.js';
import type { RepairConfig } from '../../repair/decide-repairs.js';
import { Repairs } from '../../repair/repairs.js';
import type { Store } from '../../store/interface.js';
import { actorOf } from '../access.js';

export function repairRoutes(app: FastifyInstance, store: Store, inventory: Inventory, config: RepairConfig): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const repairs = new Repairs(store, inventory);
  api.get(
    '/api/v1/repairs',
    {
      schema: {
        summary:
          'The repair queue: paused or not, who leads it, and every machine in repair, waiting, left alone, or repaired last',
      },
    },
    async () => repairs.view(config),
  );
  for (const paused of [true, false]) {
    api.post(
      `/api/v1/repairs/${paused ? 'pause' : 'resume'}`,
      {
        config: { access: 'write' },
        schema: {
          summary: paused
            ? 'Pause the repair queue: no repair starts, no power cycle is sent, nothing is escalated'
            : 'Resume the repair queue',
        },
      },
      async (request) => ({ paused, changed: await repairs.setPaused(paused, actorOf(request)) }),
    );
  }
  api.post(
    '/api/v1/repairs/:serial/cancel',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Cancel a machine’s repair (or keep a waiting machine from one) until the machine is no longer faulty',
        params: z.strictObject({ serial }),
      },
    },
    async (request) => repairs.cancel(request.params.serial, actorOf(request)),
  );
}
