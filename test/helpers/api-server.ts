/** An in-process boot-server API (the real fastify app on a real socket) over a given store. */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { AllowList, type AuthPolicy, TokenTable } from '../../src/api/auth.js';
import { createMetrics } from '../../src/api/metrics.js';
import { buildApi } from '../../src/api/server.js';
import { Inventory } from '../../src/inventory/inventory.js';
import type { Store } from '../../src/store/interface.js';

export interface TestServer {
  url: string;
  inventory: Inventory;
  close(): Promise<void>;
}

export async function startApi(store: Store, policy: Partial<AuthPolicy> = {}): Promise<TestServer> {
  const inventory = new Inventory(store);
  await inventory.start();
  const app: FastifyInstance = await buildApi({
    store,
    inventory,
    policy: { allowed: AllowList.parse('127.0.0.1/8,::1'), tokens: TokenTable.empty(), protectReads: false, ...policy },
    metrics: createMetrics(inventory.cache),
    logger: pino({ level: 'silent' }),
    crypts: true,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    inventory,
    close: async () => {
      await app.close();
      inventory.stop();
    },
  };
}

/** A small HTTP client for tests: JSON in, status + parsed body out. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; text: string }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string' || Buffer.isBuffer(body)) init.body = body as string;
    else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
  }
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text
  }
  return { status: response.status, body: parsed, text };
}
