/**
 * /api/v1/images/coreos (sabakan's image API: index, tar upload, download and
 * delete) and the boot downloads of an image's kernel and initrd.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { declaredLength, sendDownload, streamedBodies } from '../http-files.js';
import { IMAGE_FILES, IMAGE_OS, type ImageFile } from '../../boot/image-model.js';
import type { ImageRepository } from '../../boot/images.js';
import { notFound } from '../../lib/errors.js';
import { actorOf } from '../access.js';

const idParams = z.strictObject({ id: z.string().min(1).max(256) });

export function imageRoutes(app: FastifyInstance, images: ImageRepository): void {
  void app.register(async (scope) => {
    streamedBodies(scope);
    const api = scope.withTypeProvider<ZodTypeProvider>();

    api.get(`/api/v1/images/${IMAGE_OS}`, { schema: { summary: 'The image index, oldest first' } }, async () => images.list());

    api.put(
      `/api/v1/images/${IMAGE_OS}/:id`,
      {
        config: { access: 'write' },
        bodyLimit: images.maxBytes,
        schema: { summary: 'Upload an image: a tar of exactly kernel and initrd.gz (streamed to disk)', params: idParams },
      },
      async (request, reply) => {
        const result = await images.upload(request.params.id, request.raw, actorOf(request), declaredLength(request));
        return reply.code(result.status).send(result);
      },
    );

    api.route({
      method: ['GET', 'HEAD'],
      url: `/api/v1/images/${IMAGE_OS}/:id`,
      schema: { summary: 'Download an image as a tar (how peers copy images)', params: idParams },
      handler: async (request, reply) => {
        const tar = await images.tar(request.params.id);
        void reply.type('application/x-tar').header('content-length', tar.size);
        if (request.method === 'HEAD') {
          tar.stream.destroy();
          return reply.send();
        }
        return reply.send(tar.stream);
      },
    });

    api.delete(
      `/api/v1/images/${IMAGE_OS}/:id`,
      { config: { access: 'write' }, schema: { summary: 'Delete an image on every server', params: idParams } },
      async (request) => {
        await images.remove(request.params.id, actorOf(request));
        return {};
      },
    );

    api.route({
      method: ['GET', 'HEAD'],
      url: `/api/v1/boot/${IMAGE_OS}/images/:id/:file`,
      schema: {
        summary: 'A kernel or initrd of one image, for booting (Range supported)',
        params: z.strictObject({ id: z.string().min(1).max(256), file: z.enum(IMAGE_FILES) }),
      },
      handler: async (request, reply) => {
        const file = await images.file(request.params.id, request.params.file);
        return sendDownload(request, reply, { ...file, contentType: 'application/octet-stream' });
      },
    });

    // sabakan's unversioned boot files: the newest image this server holds.
    for (const name of IMAGE_FILES) {
      api.route({
        method: ['GET', 'HEAD'],
        url: `/api/v1/boot/${IMAGE_OS}/${name}`,
        schema: { summary: `The ${name} of the newest image this server holds (sabakan compatibility)` },
        handler: async (request, reply) => {
          const id = await images.newestLocalImage();
          if (!id) throw notFound(`an image on this server`);
          const file = await images.file(id, name as ImageFile);
          return sendDownload(request, reply, { ...file, contentType: 'application/octet-stream' });
        },
      });
    }
  });
}
