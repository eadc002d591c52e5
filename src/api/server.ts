/**
 * The boot server's HTTP API: sabakan's REST API v1 for the inventory, plus
 * /health, /version, /metrics and /openapi.json. With TLS configured, a second
 * listener serves the same API over HTTPS and is the only one that serves the
 * disk-key escrow (/api/v1/crypts).
 */
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AssetRepository } from '../boot/assets.js';
import type { ImageRepository } from '../boot/images.js';
import type { TemplateRepository } from '../boot/templates/repository.js';
import type { Inventory } from '../inventory/inventory.js';
import { VERSION } from '../lib/version.js';
import { DEFAULT_REPAIR_CONFIG, type RepairConfig } from '../repair/decide-repairs.js';
import type { Store } from '../store/interface.js';
import { enforceAccess } from './access.js';
import type { AuthPolicy } from './auth.js';
import { handleError } from './errors.js';
import { instrument } from './metrics.js';
import { type BootSources, bootRoutes } from './routes/boot.js';
import { assetRoutes } from './routes/assets.js';
import { bmcRoutes } from './routes/bmc.js';
import { configRoutes } from './routes/config.js';
import { cryptRoutes } from './routes/crypts.js';
import { dhcpRoutes } from './routes/dhcp.js';
import { ignitionRoutes } from './routes/ignitions.js';
import { imageRoutes } from './routes/images.js';
import { logRoutes } from './routes/logs.js';
import { machineRoutes } from './routes/machines.js';
import { repairRoutes } from './routes/repairs.js';

export interface ApiOptions {
  store: Store;
  inventory: Inventory;
  policy: AuthPolicy;
  metrics: Registry;
  logger: Logger;
  /** Serve /api/v1/crypts on this listener. */
  crypts: boolean;
  /** The network-boot chain (iPXE scripts, boot files), when this server netboots machines. */
  boot?: BootSources;
  https?: { cert: Buffer; key: Buffer };
  /** How long /health waits for the store before calling it unavailable (ms). */
  healthTimeoutMs?: number;
  /** Serve /api/v1/images and the boot downloads of kernels and initrds. */
  images?: ImageRepository;
  /** Serve /api/v1/assets. */
  assets?: AssetRepository;
  /** Serve /api/v1/ignitions, /api/v1/templates and their per-machine renderings under /api/v1/boot. */
  templates?: TemplateRepository;
  /** The repair queue's limits, as this server runs it (default: the defaults). */
  repairConfig?: RepairConfig;
}

/**
 * One log line per request, written when it completes and naming the request,
 * instead of fastify's two: logs are written synchronously, and the second
 * line cost as much as a small search.
 */
class OneLineRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export async function buildApi(options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    logController: new OneLineRequestLog(),
    bodyLimit: 1 << 20,
    ...(options.https ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
  // sabakan's plain-text endpoints and the key escrow take bodies of any type.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Yagura boot server API',
        version: VERSION,
        description: 'sabakan-compatible REST API v1 (see docs/api.md)',
      },
    },
    transform: jsonSchemaTransform,
  });
  enforceAccess(app, options.policy);
  instrument(app, options.metrics);

  const timeout = options.healthTimeoutMs ?? 2000;
  app.get('/health', { schema: { hide: true } }, async (_request, reply) => {
    try {
      const status = await withTimeout(options.store.status(), timeout, `the store did not answer within ${timeout} ms`);
      return { status: 'ok', store: { backend: status.backend, revision: status.revision } };
    } catch (error) {
      options.logger.warn({ err: error }, 'health check failed');
      return reply.code(503).send({ status: 'unavailable', error: (error as Error).message });
    }
  });
  app.get('/version', { schema: { hide: true } }, async () => ({ version: VERSION, node: process.versions.node }));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  machineRoutes(app, options.inventory);
  configRoutes(app, options.inventory);
  // Leases live in the store, shared by every server on it: listed even where this server answers no DHCP.
  dhcpRoutes(app, options.store);
  logRoutes(app, options.inventory);
  bmcRoutes(app, options.inventory);
  repairRoutes(app, options.store, options.inventory, options.repairConfig ?? DEFAULT_REPAIR_CONFIG);
  if (options.images) imageRoutes(app, options.images);
  if (options.assets) assetRoutes(app, options.assets);
  if (options.templates) ignitionRoutes(app, options.inventory, options.templates, options.boot?.advertiseUrl);
  if (options.boot) bootRoutes(app, options.store, options.inventory, options.boot, options.metrics);
  if (options.crypts) cryptRoutes(app, options.inventory);
  else {
    app.all('/api/v1/crypts/*', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(404).send({ error: 'disk keys are served only on the TLS listener (--tls-listen)' }),
    );
  }
  return app;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]);
}
