/** The running boot server behind `yagura serve`: loaded only when serve runs, so client commands start fast. */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { AllowList, type AuthPolicy, TokenTable } from '../api/auth.js';
import { createMetrics } from '../api/metrics.js';
import { buildApi } from '../api/server.js';
import { startAuditRetention } from '../inventory/audit-retention.js';
import { Inventory } from '../inventory/inventory.js';
import { parseDuration } from '../lib/duration.js';
import { UserError } from '../lib/errors.js';
import { type ListenAddress, parseListen } from '../lib/listen.js';
import { VERSION } from '../lib/version.js';
import { startAutoCompaction } from '../store/compaction.js';
import { openStore } from '../store/factory.js';
import type { ServeFlags } from './serve.js';
import type { DhcpServer } from '../boot/dhcp/server.js';
import { AssetStore } from '../boot/assets.js';
import { ImageStore } from '../boot/images.js';
import { Replicator } from '../boot/replication.js';
import { TemplateStore } from '../boot/templates/store.js';
import type { BootSources } from '../api/routes/boot.js';
import { advertiseUrlOf, startDhcp } from './serve-dhcp.js';
import { storeConfig } from './store-options.js';

export async function serve(flags: ServeFlags): Promise<void> {
  const listen = parseListen(flags.listen, '--listen');
  const tls = readTls(flags);
  const tlsListen = tls ? parseListen(flags.tlsListen, '--tls-listen') : undefined;
  const retentionMs = parseDuration(flags.compactRetention ?? (flags.store === 'embedded' ? '24h' : '0'), '--compact-retention');
  const imageKeep = Number(flags.imageKeep);
  if (!Number.isInteger(imageKeep) || imageKeep < 1)
    throw new UserError(`--image-keep must be a whole number of images (1 or more), got ${flags.imageKeep}`, 2);
  const auditDays = Number(flags.auditRetentionDays);
  if (!Number.isInteger(auditDays) || auditDays < 1)
    throw new UserError(`--audit-retention-days must be a whole number of days, got ${flags.auditRetentionDays}`, 2);
  const policy: AuthPolicy = {
    allowed: AllowList.parse(flags.allowIps),
    tokens: flags.tokenFile ? TokenTable.load(flags.tokenFile) : TokenTable.empty(),
    protectReads: flags.authReads === true,
  };
  const logger = pino({ base: { service: 'yagura' } });

  const store = await openStore(storeConfig(flags));
  const inventory = new Inventory(store, (err) => logger.warn({ err }, 'machine cache error'));
  const servers: FastifyInstance[] = [];
  const jobs: { stop(): void }[] = [];
  let dhcp: DhcpServer | undefined;
  let replicator: Replicator | undefined;
  try {
    await inventory.start();
    const metrics = createMetrics(inventory.cache);
    const advertiseUrl = advertiseUrlOf(flags);
    const peerUrl = advertiseUrl ?? defaultPeerUrl(listen.port);
    const files = { store, dataDir: flags.dataDir, advertiseUrl: peerUrl, logger: logger.child({ part: 'files' }) };
    const images = await ImageStore.open({ ...files, keep: imageKeep });
    const assets = await AssetStore.open(files);
    const templates = new TemplateStore(store, { inventory });
    replicator = new Replicator({ store, replicas: [images, assets], logger: logger.child({ part: 'replication' }) });
    await replicator.start();
    const boot: BootSources = {
      advertiseUrl,
      ipxeEfiPath: flags.ipxeEfi,
      newestImage: () => images.newestLocalImage(),
      newestTemplate: templates.newestTemplate,
    };
    const api = { store, inventory, policy, metrics, logger, images, assets, templates, boot };
    servers.push(await buildApi({ ...api, crypts: !tls }));
    await listenOn(servers[0]!, listen, flags.listen);
    if (tls && tlsListen) {
      servers.push(
        await buildApi({ ...api, crypts: true, https: tls }).catch((error: Error) => {
          throw new UserError(
            `--tls-cert/--tls-key: ${error.message.replace(/^error:[0-9A-F]+:/, '')}: give a PEM certificate and its matching private key`,
          );
        }),
      );
      await listenOn(servers[1]!, tlsListen, flags.tlsListen);
    }
    dhcp = await startDhcp(flags, { store, inventory, metrics, logger, apiPort: listen.port });
  } catch (error) {
    await dhcp?.stop();
    for (const server of servers) await server.close();
    await replicator?.stop();
    inventory.stop();
    await store.close();
    throw error;
  }
  if (retentionMs > 0) {
    jobs.push(
      startAutoCompaction(store, {
        retentionMs,
        onCompact: (revision) => logger.info({ revision }, 'compacted store history'),
        onError: (err) => logger.warn({ err }, 'store compaction failed'),
      }),
    );
  }
  jobs.push(
    startAuditRetention(store, {
      days: auditDays,
      onDelete: (count) => logger.info({ count }, 'deleted expired audit records'),
      onError: (err) => logger.warn({ err }, 'audit retention failed'),
    }),
  );
  const status = await store.status();
  logger.info(
    {
      version: VERSION,
      listen: flags.listen,
      tlsListen: tls ? flags.tlsListen : undefined,
      dhcpListen: dhcp ? flags.dhcpListen : 'off',
      store: status.backend,
      location: status.location,
      revision: status.revision,
      machines: inventory.cache.size,
    },
    'serving',
  );

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  for (const job of jobs) job.stop();
  await dhcp?.stop();
  await Promise.all(servers.map((s) => s.close())); // drains in-flight requests
  await replicator?.stop();
  inventory.stop();
  await store.close();
  logger.info('stopped');
}

/** How peers reach this server when --advertise-url is not given: the first non-loopback IPv4 address. */
function defaultPeerUrl(port: number): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  return `http://${address ?? '127.0.0.1'}:${port}`;
}

function readTls(flags: ServeFlags): { cert: Buffer; key: Buffer } | undefined {
  if (!flags.tlsCert && !flags.tlsKey) return undefined;
  if (!flags.tlsCert || !flags.tlsKey) throw new UserError('--tls-cert and --tls-key go together: give both or neither', 2);
  const read = (file: string, flag: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new UserError(`${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code})`);
    }
  };
  return { cert: read(flags.tlsCert, '--tls-cert'), key: read(flags.tlsKey, '--tls-key') };
}

async function listenOn(server: FastifyInstance, address: ListenAddress, text: string): Promise<void> {
  try {
    await server.listen({ host: address.host, port: address.port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UserError(`cannot listen on ${text}: the address is in use; stop the other server or choose another address`);
    if (code === 'EACCES') throw new UserError(`cannot listen on ${text}: permission denied (ports below 1024 need root)`);
    if (code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${text}: no such local address`);
    throw error;
  }
}
