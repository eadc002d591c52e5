/**
 * /api/v1/assets: sabakan's asset API — named files of any type, uploaded
 * raw with their Content-Type, downloaded with Range support; a server
 * without its own copy yet redirects (302) to a peer that has one, as sabakan does.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ID_HEADER, optionsFromHeaders, SHA256_HEADER } from '../../boot/asset-model.js';
import type { AssetRepository } from '../../boot/assets.js';
import { declaredLength, sendDownload, streamedBodies } from '../http-files.js';
import { actorOf } from '../access.js';

const nameParams = z.strictObject({ name: z.string().min(1).max(256) });

export function assetRoutes(app: FastifyInstance, assets: AssetRepository): void {
  void app.register(async (scope) => {
    streamedBodies(scope);
    const api = scope.withTypeProvider<ZodTypeProvider>();

    api.get('/api/v1/assets', { schema: { summary: 'The names of all assets' } }, async () => assets.names());

    api.put(
      '/api/v1/assets/:name',
      {
        config: { access: 'write' },
        bodyLimit: assets.maxBytes,
        schema: {
          summary:
            'Upload an asset (raw body, Content-Type required; X-Sabakan-Asset-SHA256 and X-Sabakan-Asset-Options-* optional)',
          params: nameParams,
        },
      },
      async (request, reply) => {
        const sha256 = request.headers[SHA256_HEADER];
        const result = await assets.upload(
          {
            name: request.params.name,
            contentType: request.headers['content-type'],
            sha256: Array.isArray(sha256) ? sha256[0] : sha256,
            options: optionsFromHeaders(request.headers),
            declaredBytes: declaredLength(request),
            body: request.raw,
          },
          actorOf(request),
        );
        return reply.code(result.status).send(result);
      },
    );

    api.route({
      method: ['GET', 'HEAD'],
      url: '/api/v1/assets/:name',
      schema: { summary: 'Download an asset (Range supported; 302 to a peer while this server has no copy)', params: nameParams },
      handler: async (request, reply) => {
        const location = await assets.locate(request.params.name);
        if (location.kind === 'peer') return reply.redirect(location.url, 302);
        const { meta } = location;
        return sendDownload(request, reply, {
          path: location.path,
          sha256: meta.sha256,
          contentType: meta['content-type'],
          headers: { [ID_HEADER]: String(meta.id), [SHA256_HEADER]: meta.sha256 },
        });
      },
    });

    api.get(
      '/api/v1/assets/:name/meta',
      { schema: { summary: 'An asset’s metadata, with whether this server holds a copy', params: nameParams } },
      async (request) => assets.info(request.params.name),
    );

    api.delete(
      '/api/v1/assets/:name',
      { config: { access: 'write' }, schema: { summary: 'Delete an asset on every server', params: nameParams } },
      async (request) => {
        await assets.remove(request.params.name, actorOf(request));
        return {};
      },
    );
  });
}
