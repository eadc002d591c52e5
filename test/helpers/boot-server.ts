/**
 * An in-process boot server with images and assets (startBootServer on a
 * real loopback socket, its own data dir, no DHCP or daemons), optionally
 * replicating from peers; and the image tars tests upload.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { AllowList, type AuthPolicy, TokenTable } from '../../src/api/auth.js';
import type { AssetRepository } from '../../src/boot/assets.js';
import type { ImageRepository } from '../../src/boot/images.js';
import { TAR_END, tarHeader, tarPadding } from '../../src/boot/tar.js';
import { startBootServer as startServer } from '../../src/server/boot-server.js';
import type { Store } from '../../src/store/interface.js';
import { freePort } from './ports.js';

export interface BootServerOptions {
  dataDir: string;
  keep?: number;
  maxImageBytes?: number;
  maxAssetBytes?: number;
  /** Run a Replicator (start-up sync plus watch); it can also be started later with startReplication(). */
  replicate?: boolean;
  policy?: Partial<AuthPolicy>;
}

export interface BootServer {
  url: string;
  dataDir: string;
  images: ImageRepository;
  assets: AssetRepository;
  startReplication(): Promise<void>;
  close(): Promise<void>;
}

export async function startBootServer(store: Store, options: BootServerOptions): Promise<BootServer> {
  // The advertise URL must be known before the stores exist: pick the port first.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer({
    store: { opened: store },
    listen: { host: '127.0.0.1', port },
    httpCrypts: false,
    policy: { allowed: AllowList.parse('127.0.0.1/8,::1'), tokens: TokenTable.empty(), protectReads: false, ...options.policy },
    logger: pino({ level: 'silent' }),
    dataDir: options.dataDir,
    advertiseUrl: url,
    imageKeep: options.keep,
    maxImageBytes: options.maxImageBytes,
    maxAssetBytes: options.maxAssetBytes,
    ipxeEfiPath: '/usr/lib/ipxe/ipxe.efi',
    replication: { start: options.replicate === true, retryMs: 200 },
  });
  return {
    url,
    dataDir: options.dataDir,
    images: server.images,
    assets: server.assets,
    startReplication: () => server.startReplication(),
    close: () => server.stop(),
  };
}

/** An image tar as GNU tar writes it (`tar -C dir -cf - <names>`), from the given files. */
export function gnuTar(files: Record<string, Buffer>, args: string[] = []): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'yagura-tar-'));
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    return execFileSync('tar', ['--format=gnu', ...args, '-cf', '-', '-C', dir, ...Object.keys(files)], { maxBuffer: 1 << 30 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A tar built member by member (for archives GNU tar would not write, such as ../kernel). */
export function craftTar(members: { name: string; data: Buffer; typeflag?: string }[]): Buffer {
  return Buffer.concat([
    ...members.flatMap((m) => {
      const header = tarHeader({ name: m.name, size: m.data.length, mtime: 1_700_000_000 });
      if (m.typeflag) {
        header.write(m.typeflag, 156, 'ascii');
        header.write('        ', 148, 'ascii');
        let sum = 0;
        for (const byte of header) sum += byte;
        header.write(`${sum.toString(8).padStart(6, '0')}\u0000`, 148, 'ascii');
      }
      return [header, m.data, tarPadding(m.data.length)];
    }),
    TAR_END,
  ]);
}

/** Every file under `dir`, as paths relative to it (directories left out). */
export function filesUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else found.push(rel);
    }
  };
  walk('');
  return found.sort();
}

export function readData(dir: string, path: string): Buffer {
  return readFileSync(join(dir, path));
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
