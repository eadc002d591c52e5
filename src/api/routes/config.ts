/** /api/v1/config/ipam and /api/v1/config/dhcp. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Inventory } from '../../inventory/inventory.js';
import { dhcpConfig, ipamConfig } from '../../inventory/model.js';
import { actorOf } from '../access.js';

export function configRoutes(app: FastifyInstance, inventory: Inventory): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { config } = inventory;
  api.get('/api/v1/config/ipam', { schema: { summary: 'The IPAM config' } }, async () => config.getIpam());
  api.put(
    '/api/v1/config/ipam',
    {
      config: { access: 'write' },
      schema: { summary: 'Set the IPAM config (only while no machine is registered)', body: ipamConfig },
    },
    async (request) => {
      await config.setIpam(request.body, actorOf(request));
      return {};
    },
  );
  api.get('/api/v1/config/dhcp', { schema: { summary: 'The DHCP config' } }, async () => config.getDhcp());
  api.put(
    '/api/v1/config/dhcp',
    { config: { access: 'write' }, schema: { summary: 'Set the DHCP config', body: dhcpConfig } },
    async (request) => {
      await config.setDhcp(request.body, actorOf(request));
      return {};
    },
  );
}
