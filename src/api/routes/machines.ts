/** /api/v1/machines, /state, /labels, /retire-date — sabakan's machine API. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { invalid } from '../../lib/errors.js';
import type { Inventory } from '../../inventory/inventory.js';
import { labelName, labelValue, machineSpecInput, machineState, rfc3339, serial } from '../../inventory/model.js';
import { parseMachineQuery } from '../../inventory/search.js';
import { SlabPool } from '../../lib/slab-pool.js';
import { actorOf } from '../access.js';
import { textBody } from './text-body.js';

const serialParams = z.strictObject({ serial });

export function machineRoutes(app: FastifyInstance, inventory: Inventory): void {
  const { machines } = inventory;
  const api = app.withTypeProvider<ZodTypeProvider>();
  /** Search answers are built in reused memory, given back once the kernel has the bytes (see SlabPool). */
  const answers = new SlabPool();

  api.post(
    '/api/v1/machines',
    {
      config: { access: 'write' },
      bodyLimit: 16 << 20,
      schema: { summary: 'Register machines (a JSON array), all or none', body: z.array(machineSpecInput).max(10000) },
    },
    async (request, reply) => reply.code(201).send(await machines.register(request.body, actorOf(request))),
  );

  api.get(
    '/api/v1/machines',
    {
      schema: {
        summary: 'Search machines (sabakan query parameters and their without- forms)',
        querystring: z.record(z.string(), z.string()),
      },
    },
    async (request, reply) => {
      const parsed = parseMachineQuery(request.query);
      if ('error' in parsed) throw invalid(parsed.error, parsed.field);
      const loan = answers.borrow();
      // 'finish': the whole response is with the kernel. A connection that dies first never gives its slab back.
      reply.raw.once('finish', loan.release);
      return reply.type('application/json').send(await machines.searchJson(parsed.query, loan.bytes));
    },
  );

  api.delete(
    '/api/v1/machines/:serial',
    { config: { access: 'write' }, schema: { summary: 'Remove a retired machine', params: serialParams } },
    async (request) => {
      await machines.remove(request.params.serial, actorOf(request));
      return {};
    },
  );

  api.get(
    '/api/v1/state/:serial',
    { schema: { summary: 'A machine’s state, as plain text', params: serialParams } },
    async (request, reply) => reply.type('text/plain').send(await machines.getState(request.params.serial)),
  );

  api.put(
    '/api/v1/state/:serial',
    { config: { access: 'write' }, schema: { summary: 'Change a machine’s state (body: the new state)', params: serialParams } },
    async (request) => {
      const state = machineState.safeParse(textBody(request.body).trim());
      if (!state.success)
        throw invalid(
          `unknown state ${JSON.stringify(textBody(request.body).trim())}; states are ${machineState.options.join(', ')}`,
          'state',
        );
      await machines.setState(request.params.serial, state.data, actorOf(request));
      return {};
    },
  );

  const labelParams = z.strictObject({ serial, label: labelName });
  api.put(
    '/api/v1/labels/:serial/:label',
    { config: { access: 'write' }, schema: { summary: 'Set a label (body: the value)', params: labelParams } },
    async (request) => {
      const value = labelValue.safeParse(textBody(request.body));
      if (!value.success) throw invalid(`label value ${value.error.issues[0]!.message}`, 'value');
      await machines.setLabel(request.params.serial, request.params.label, value.data, actorOf(request));
      return {};
    },
  );

  api.delete(
    '/api/v1/labels/:serial/:label',
    { config: { access: 'write' }, schema: { summary: 'Remove a label', params: labelParams } },
    async (request) => {
      await machines.removeLabel(request.params.serial, request.params.label, actorOf(request));
      return {};
    },
  );

  api.put(
    '/api/v1/retire-date/:serial',
    { config: { access: 'write' }, schema: { summary: 'Set the retire date (body: RFC 3339)', params: serialParams } },
    async (request) => {
      const date = rfc3339.safeParse(textBody(request.body).trim());
      if (!date.success) throw invalid(`retire date ${date.error.issues[0]!.message}`, 'retire-date');
      await machines.setRetireDate(request.params.serial, new Date(date.data), actorOf(request));
      return {};
    },
  );
}
