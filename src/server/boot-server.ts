/**
 * The boot server's composition root: one function that wires the store, the
 * inventory, the image and asset repositories, replication, the HTTP(S) API, DHCP and the
 * background daemons from a BootServerConfig, and one stop() that undoes it
 * all in reverse order. See docs/server.md.
 */
import { networkInterfaces } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createMetrics } from '../api/metrics.js';
import type { BootSources } from '../api/routes/boot.js';
import { buildApi } from '../api/server.js';
import { AssetRepository } from '../boot/assets.js';
import type { DhcpServer } from '../boot/dhcp/server.js';
import { ImageRepository } from '../boot/images.js';
import { Replicator } from '../boot/replication.js';
import { TemplateRepository } from '../boot/templates/repository.js';
import { Inventory } from '../inventory/inventory.js';
import { UserError } from '../lib/errors.js';
import type { Store } from '../store/interface.js';
import type { BootServerConfig } from './config.js';
import { DAEMONS, type DaemonContext } from './daemons.js';
import { startDhcp } from './dhcp.js';
import { type Endpoint, listenOn } from './listen.js';
import { openStoreWaiting } from './open-store.js';
import { Teardown } from './teardown.js';

/** A running boot server. */
export interface BootServer {
  readonly http: Endpoint;
  /** The HTTPS API, when the config has TLS. */
  readonly https: Endpoint | undefined;
  readonly store: Store;
  readonly inventory: Inventory;
  readonly images: ImageRepository;
  readonly assets: AssetRepository;
  readonly templates: TemplateRepository;
  readonly metrics: Registry;
  /** The DHCP server, when the config has DHCP. */
  readonly dhcp: DhcpServer | undefined;
  /** Starts replicating images and assets from peers, if not started yet. */
  startReplication(): Promise<void>;
  /**
   * Stops everything this server started, newest first: daemons, DHCP, the API
   * (after in-flight requests finish), replication, the inventory, and the
   * store if it opened it (a store it was handed stays open).
   */
  stop(): Promise<void>;
}

/** Starts a boot server; if any part fails to start, what was already started is stopped again. */
export async function startBootServer(config: BootServerConfig): Promise<BootServer> {
  const teardown = new Teardown();
  try {
    return await start(config, teardown);
  } catch (error) {
    await teardown.run().catch((err: unknown) => config.logger.warn({ err }, 'undoing a failed start-up failed'));
    throw error;
  }
}

async function start(config: BootServerConfig, teardown: Teardown): Promise<BootServer> {
  const { logger } = config;
  let store: Store;
  if ('opened' in config.store) store = config.store.opened;
  else {
    const opened = await openStoreWaiting(config.store.config, config.store.waitMs ?? 0, logger);
    teardown.add('store', () => opened.close());
    store = opened;
  }

  const inventory = new Inventory(store, (err) => logger.warn({ err }, 'machine cache error'));
  teardown.add('inventory', () => inventory.stop());
  await inventory.start();
  const metrics = createMetrics(inventory.cache);

  const files = {
    store,
    dataDir: config.dataDir,
    advertiseUrl: config.advertiseUrl ?? defaultPeerUrl(config.listen.port),
    logger: logger.child({ part: 'files' }),
  };
  const images = await ImageRepository.open({ ...files, keep: config.imageKeep, maxBytes: config.maxImageBytes });
  const assets = await AssetRepository.open({ ...files, maxBytes: config.maxAssetBytes });
  const templates = new TemplateRepository(store, { inventory });

  let replicator: Replicator | undefined;
  const startReplication = async () => {
    if (replicator) return;
    replicator = new Replicator({
      store,
      replicas: [images, assets],
      logger: logger.child({ part: 'replication' }),
      retryMs: config.replication?.retryMs,
    });
    await replicator.start();
  };
  teardown.add('replication', () => replicator?.stop());
  if (config.replication?.start !== false) await startReplication();

  const boot: BootSources = {
    advertiseUrl: config.advertiseUrl,
    ipxeEfiPath: config.ipxeEfiPath,
    newestImage: () => images.newestLocalImage(),
    newestTemplate: templates.newestTemplate,
  };
  const api = {
    store,
    inventory,
    policy: config.policy,
    metrics,
    logger,
    images,
    assets,
    templates,
    boot,
    ...(config.repairs && { repairConfig: config.repairs.config }),
  };
  const servers: FastifyInstance[] = [];
  teardown.add('API', async () => {
    await Promise.all(servers.map((server) => server.close())); // drains in-flight requests
  });
  const plain = await buildApi({ ...api, crypts: config.httpCrypts ?? !config.tls });
  servers.push(plain);
  const http = await listenOn(plain, config.listen, 'http');
  let https: Endpoint | undefined;
  if (config.tls) {
    const secure = await buildApi({ ...api, crypts: true, https: { cert: config.tls.cert, key: config.tls.key } }).catch(
      (error: Error) => {
        throw new UserError(
          `--tls-cert/--tls-key: ${error.message.replace(/^error:[0-9A-F]+:/, '')}: give a PEM certificate and its matching private key`,
        );
      },
    );
    servers.push(secure);
    https = await listenOn(secure, config.tls.listen, 'https');
  }

  let dhcp: DhcpServer | undefined;
  if (config.dhcp) {
    const started = await startDhcp(config.dhcp, {
      store,
      inventory,
      metrics,
      logger,
      advertiseUrl: config.advertiseUrl,
      apiHost: config.listen.host,
      apiPort: http.port,
    });
    teardown.add('DHCP', () => started.stop());
    dhcp = started;
  }

  const context: DaemonContext = { config, store, inventory, images, assets, templates, metrics, logger };
  for (const daemon of DAEMONS) {
    if (daemon.enabled?.(config) === false) continue;
    const running = await daemon.start(context);
    teardown.add(daemon.name, () => running.stop());
  }

  return {
    http,
    https,
    store,
    inventory,
    images,
    assets,
    templates,
    metrics,
    dhcp,
    startReplication,
    stop: () => teardown.run(),
  };
}

/** How peers reach this server when no advertise URL is given: the first non-loopback IPv4 address. */
function defaultPeerUrl(port: number): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  return `http://${address ?? '127.0.0.1'}:${port}`;
}
