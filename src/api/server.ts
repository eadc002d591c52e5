/**
 * The boot server's HTTP API. In this first cut: /health (200 only while the
 * store answers) and /version; the inventory, boot and console routes join it.
 */
import Fastify from 'fastify';
import type { Logger } from 'pino';
import type { Store } from '../store/interface.js';
import { VERSION } from '../lib/version.js';

export interface ApiOptions {
  store: Store;
  logger: Logger;
  /** How long /health waits for the store before calling it unavailable (ms). */
  healthTimeoutMs?: number;
}

export function buildApi(options: ApiOptions) {
  const app = Fastify({ loggerInstance: options.logger, bodyLimit: 1 << 20 });
  const timeout = options.healthTimeoutMs ?? 2000;

  app.get('/health', async (_request, reply) => {
    try {
      const status = await withTimeout(options.store.status(), timeout, `the store did not answer within ${timeout} ms`);
      return { status: 'ok', store: { backend: status.backend, revision: status.revision } };
    } catch (error) {
      options.logger.warn({ err: error }, 'health check failed');
      return reply.code(503).send({ status: 'unavailable', error: (error as Error).message });
    }
  });

  app.get('/version', async () => ({ version: VERSION, node: process.versions.node }));

  return app;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]);
}
