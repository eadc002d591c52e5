/**
 * An in-process boot-server API (startBootServer on a real loopback socket)
 * over a given store, serving disk keys on plain HTTP; no DHCP, replication or
 * daemons, and its image and asset files in a temp dir of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AllowList, type AuthPolicy, TokenTable } from '../../src/api/auth.js';
import type { Inventory } from '../../src/inventory/inventory.js';
import { startBootServer } from '../../src/server/boot-server.js';
import type { Store } from '../../src/store/interface.js';

export interface TestServer {
  url: string;
  inventory: Inventory;
  close(): Promise<void>;
}

export async function startApi(store: Store, policy: Partial<AuthPolicy> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'yagura-api-'));
  const removeDataDir = () => rmSync(dataDir, { recursive: true, force: true });
  const server = await startBootServer({
    store: { opened: store },
    listen: { host: '127.0.0.1', port: 0 },
    httpCrypts: true,
    policy: { allowed: AllowList.parse('127.0.0.1/8,::1'), tokens: TokenTable.empty(), protectReads: false, ...policy },
    logger: pino({ level: 'silent' }),
    dataDir,
    ipxeEfiPath: '/usr/lib/ipxe/ipxe.efi',
    replication: { start: false },
  }).catch((error: unknown) => {
    removeDataDir();
    throw error;
  });
  return {
    url: server.http.url,
    inventory: server.inventory,
    close: async () => {
      await server.stop();
      removeDataDir();
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
