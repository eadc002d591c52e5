/**
 * Configuration templates: versioned Ignition templates per role
 * (/api/v1/ignitions, sabakan's API with Ignition spec 3), named text templates
 * per role (/api/v1/templates, e.g. cloud-init), and both rendered for one
 * machine under /api/v1/boot, where machines fetch them while booting.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ignitionUpload } from '../../boot/templates/documents.js';
import { TemplateError } from '../../boot/templates/errors.js';
import { MAX_TEMPLATE_BYTES, type TemplateRepository } from '../../boot/templates/repository.js';
import type { Inventory } from '../../inventory/inventory.js';
import { role, serial } from '../../inventory/model.js';
import { actorOf } from '../access.js';

const id = z.string().min(1).max(64);
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1–64 characters: alphanumerics, ".", "_", "-"');
// Room for the JSON wrapper around a template of MAX_TEMPLATE_BYTES; the store checks the exact size.
const BODY_LIMIT = 2 * MAX_TEMPLATE_BYTES;

/** `advertiseUrl`: how machines reach this server (urls.api); by default the address each client used. */
export function ignitionRoutes(
  app: FastifyInstance,
  inventory: Inventory,
  templates: TemplateRepository,
  advertiseUrl?: string,
): void {
  const apiUrl = (request: FastifyRequest) => advertiseUrl ?? `${request.protocol}://${request.headers.host}`;
  const api = app.withTypeProvider<ZodTypeProvider>();

  // ---- Ignition templates ----

  api.get(
    '/api/v1/ignitions/:role',
    { schema: { summary: "A role's Ignition template IDs, lowest version first", params: z.strictObject({ role }) } },
    async (request) => templates.listIgnitions(request.params.role),
  );
  api.get(
    '/api/v1/ignitions/:role/:id',
    { schema: { summary: 'One Ignition template, as uploaded', params: z.strictObject({ role, id }) } },
    async (request) => templates.getIgnition(request.params.role, request.params.id),
  );
  api.put(
    '/api/v1/ignitions/:role/:id',
    {
      config: { access: 'write' },
      bodyLimit: BODY_LIMIT,
      schema: {
        summary: 'Add an Ignition template version (IDs are immutable; the newest 10 are kept); checked with ignition-validate',
        params: z.strictObject({ role, id }),
        body: ignitionUpload,
      },
    },
    async (request, reply) => {
      const { role, id } = request.params;
      const result = await templates.putIgnition(role, id, request.body, apiUrl(request), actorOf(request));
      return reply.code(201).send({ role, id, warnings: result.warnings });
    },
  );
  api.delete(
    '/api/v1/ignitions/:role/:id',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Remove an Ignition template version (removing the highest rolls back)',
        params: z.strictObject({ role, id }),
      },
    },
    async (request) => {
      await templates.deleteIgnition(request.params.role, request.params.id, actorOf(request));
      return { newest: (await templates.newestTemplate(request.params.role)) ?? null };
    },
  );

  api.get(
    '/api/v1/boot/ignitions/:serial/:id',
    { schema: { summary: 'An Ignition config rendered for one machine', params: z.strictObject({ serial, id }) } },
    async (request, reply) => {
      const { serial, id } = request.params;
      const machine = await inventory.machines.get(serial);
      try {
        const config = await templates.renderIgnition(machine, id, apiUrl(request));
        return reply.type('application/json').send(JSON.stringify(config));
      } catch (error) {
        return renderFailure(error, request, reply, `Ignition template ${id} of role ${machine.spec.role}`, serial);
      }
    },
  );

  // ---- text templates: the body is the template, whatever its Content-Type ----

  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    const text = scope.withTypeProvider<ZodTypeProvider>();

    text.get(
      '/api/v1/templates/:role',
      { schema: { summary: "A role's text template names", params: z.strictObject({ role }) } },
      async (request) => templates.listTexts(request.params.role),
    );
    text.get(
      '/api/v1/templates/:role/:name',
      { schema: { summary: 'One text template, as uploaded', params: z.strictObject({ role, name }) } },
      async (request, reply) =>
        reply.type('text/plain; charset=utf-8').send((await templates.getText(request.params.role, request.params.name)).text),
    );
    text.put(
      '/api/v1/templates/:role/:name',
      {
        config: { access: 'write' },
        bodyLimit: BODY_LIMIT,
        schema: { summary: 'Set or replace a text template (the body, as text)', params: z.strictObject({ role, name }) },
      },
      async (request, reply) => {
        const { role, name } = request.params;
        const body = typeof request.body === 'string' ? request.body : '';
        const replaced = await templates.putText(role, name, body, apiUrl(request), actorOf(request));
        return reply.code(replaced ? 200 : 201).send({ role, name });
      },
    );
    text.delete(
      '/api/v1/templates/:role/:name',
      { config: { access: 'write' }, schema: { summary: 'Remove a text template', params: z.strictObject({ role, name }) } },
      async (request) => {
        await templates.deleteText(request.params.role, request.params.name, actorOf(request));
        return {};
      },
    );
    text.get(
      '/api/v1/boot/templates/:serial/:name',
      { schema: { summary: 'A text template rendered for one machine', params: z.strictObject({ serial, name }) } },
      async (request, reply) => {
        const { serial, name } = request.params;
        const machine = await inventory.machines.get(serial);
        try {
          const rendered = await templates.renderText(machine, name, apiUrl(request));
          return reply.type('text/plain; charset=utf-8').send(rendered);
        } catch (error) {
          return renderFailure(error, request, reply, `text template ${name} of role ${machine.spec.role}`, serial);
        }
      },
    );
  });
}

/**
 * A stored template that cannot be rendered for this machine (say, it lacks a
 * label the template needs) is the operator's configuration to fix, not the
 * machine's mistake: 500 with the reason, so Ignition keeps retrying meanwhile.
 */
function renderFailure(error: unknown, request: FastifyRequest, reply: FastifyReply, what: string, serial: string) {
  if (!(error instanceof TemplateError)) throw error;
  request.log.warn({ serial, field: error.field, expression: error.expression }, `${what} cannot be rendered: ${error.detail}`);
  const body = { error: `${what} cannot be rendered for machine ${serial}: ${error.message}` };
  return reply.code(500).send(error.field ? { ...body, field: error.field } : body);
}
