/** /api/v1/bmc/credentials: what the boot servers log in to the machines' BMCs with (never answered back). */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { bmcCredentials } from '../../inventory/bmc-credentials.js';
import type { Inventory } from '../../inventory/inventory.js';
import { actorOf } from '../access.js';

export function bmcRoutes(app: FastifyInstance, inventory: Inventory): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const credentials = inventory.bmcCredentials;
  api.get(
    '/api/v1/bmc/credentials',
    { schema: { summary: 'The BMC user, and whether a password is set (the password is never answered)' } },
    async () => credentials.summary(),
  );
  api.put(
    '/api/v1/bmc/credentials',
    {
      config: { access: 'write' },
      schema: { summary: 'Set the user and password of every machine’s BMC', body: bmcCredentials },
    },
    async (request) => {
      await credentials.set(request.body, actorOf(request));
      return {};
    },
  );
}
