/**
 * The boot chain over HTTP: the iPXE EFI binary for UEFI HTTP Boot clients,
 * the chain script, and the per-machine script chosen by SMBIOS serial; plus
 * kernel parameters (sabakan's /api/v1/kernel_params/coreos).
 */
import { createReadStream, statSync } from 'node:fs';
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import { counterIn } from '../../lib/metrics.js';
import { z } from 'zod';
import { chainScript, machineBootChoice, OS } from '../../boot/ipxe.js';
import { getKernelParams, setKernelParams } from '../../boot/kernel-params.js';
import { isKind } from '../../lib/errors.js';
import type { Inventory } from '../../inventory/inventory.js';
import type { Store } from '../../store/interface.js';
import { actorOf } from '../access.js';
import { textBody } from './text-body.js';

/** Where the boot chain finds what it serves. */
export interface BootSources {
  /** How machines reach this server, e.g. http://10.69.0.3:10080; by default the address each client used. */
  advertiseUrl?: string;
  /** Path of the iPXE EFI binary (Debian's ipxe package: /usr/lib/ipxe/ipxe.efi). */
  ipxeEfiPath: string;
  /** ID of the newest image this server can serve, if any. */
  newestImage(): Promise<string | undefined>;
  /** ID of the newest configuration template of a role, if any. */
  newestTemplate?(role: string): Promise<string | undefined>;
}

export function bootRoutes(app: FastifyInstance, store: Store, inventory: Inventory, boot: BootSources, metrics: Registry): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const unknown = counterIn(
    metrics,
    'yagura_boot_unknown_machine_total',
    'Per-machine iPXE scripts asked for by serials that are not registered.',
  );
  const pathsFor = (request: FastifyRequest) => ({
    advertiseUrl: boot.advertiseUrl ?? `${request.protocol}://${request.headers.host}`,
  });

  api.get(
    '/api/v1/boot/ipxe.efi',
    { schema: { summary: 'The iPXE EFI binary, for UEFI HTTP Boot' } },
    async (_request, reply) => {
      let size: number;
      try {
        size = statSync(boot.ipxeEfiPath).size;
      } catch {
        return reply.code(404).send({
          error: `the iPXE EFI binary ${boot.ipxeEfiPath} is missing on this server: install Debian's ipxe package or pass --ipxe-efi`,
        });
      }
      return reply.type('application/efi').header('content-length', size).send(createReadStream(boot.ipxeEfiPath));
    },
  );

  api.get(
    `/api/v1/boot/${OS}/ipxe`,
    { schema: { summary: 'The iPXE chain script every iPXE client gets from DHCP' } },
    async (request, reply) => reply.type('text/plain').send(chainScript(pathsFor(request))),
  );

  api.get(
    `/api/v1/boot/${OS}/ipxe/:serial`,
    {
      schema: { summary: 'The iPXE script of one machine, by SMBIOS serial', params: z.object({ serial: z.string().max(128) }) },
    },
    async (request, reply) => {
      const serial = request.params.serial;
      const role = await roleOf(inventory, serial);
      const [imageId, template, kernelParams] =
        role === undefined
          ? [undefined, undefined, '']
          : await Promise.all([boot.newestImage(), boot.newestTemplate?.(role), getKernelParams(store, OS)]);
      const choice = machineBootChoice(pathsFor(request), { serial, role, imageId, template, kernelParams });
      if (choice.kind === 'unknown-machine') {
        unknown.inc();
        request.log.warn({ serial }, 'boot script asked for by an unregistered machine');
      }
      return reply.code(choice.status).type('text/plain').send(choice.script);
    },
  );

  api.get(`/api/v1/kernel_params/${OS}`, { schema: { summary: 'Kernel parameters' } }, async (_request, reply) =>
    reply.type('text/plain').send(await getKernelParams(store, OS)),
  );
  api.put(
    `/api/v1/kernel_params/${OS}`,
    { config: { access: 'write' }, schema: { summary: 'Set kernel parameters (plain text)' } },
    async (request) => {
      await setKernelParams(store, OS, textBody(request.body).trim(), actorOf(request), hostname());
      return {};
    },
  );
}

/** The role of the machine with `serial`; undefined when none is registered. */
async function roleOf(inventory: Inventory, serial: string): Promise<string | undefined> {
  try {
    return (await inventory.machines.get(serial)).spec.role;
  } catch (error) {
    if (isKind(error, 'not-found')) return undefined;
    throw error;
  }
}
