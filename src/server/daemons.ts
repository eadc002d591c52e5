/**
 * Background daemons of the boot server: jobs that run beside the API for as
 * long as the server does. A new daemon is one entry in DAEMONS; the server
 * starts them, in this order, once everything else is up, and stops them, in
 * reverse order, before anything else.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AssetRepository } from '../boot/assets.js';
import type { ImageRepository } from '../boot/images.js';
import type { TemplateRepository } from '../boot/templates/repository.js';
import { serfMembers } from '../health/serf-members.js';
import { startStateSetter } from '../health/state-setter.js';
import { startAuditRetention } from '../inventory/audit-retention.js';
import type { Inventory } from '../inventory/inventory.js';
import { startRepairQueue } from '../repair/repair-queue.js';
import { startAutoCompaction } from '../store/compaction.js';
import type { Store } from '../store/interface.js';
import type { BootServerConfig } from './config.js';

export interface Daemon {
  /** Names the daemon in logs and errors. */
  name: string;
  /** Whether this server runs the daemon at all (default: yes). */
  enabled?(config: BootServerConfig): boolean;
  start(context: DaemonContext): Promise<RunningDaemon>;
}

export interface RunningDaemon {
  stop(): Promise<void> | void;
}

/** What a daemon may use: the server's parts, all started. */
export interface DaemonContext {
  config: BootServerConfig;
  store: Store;
  inventory: Inventory;
  images: ImageRepository;
  assets: AssetRepository;
  templates: TemplateRepository;
  metrics: Registry;
  logger: Logger;
}

/** Keeps the store's history for a retention period and compacts what is older. */
const storeCompaction: Daemon = {
  name: 'store compaction',
  enabled: (config) => (config.compactionRetentionMs ?? 0) > 0,
  start: async ({ config, store, logger }) =>
    startAutoCompaction(store, {
      retentionMs: config.compactionRetentionMs ?? 0,
      onCompact: (revision) => logger.info({ revision }, 'compacted store history'),
      onError: (err) => logger.warn({ err }, 'store compaction failed'),
    }),
};

/** Deletes audit records older than the retention period. */
const auditRetention: Daemon = {
  name: 'audit retention',
  enabled: (config) => config.auditRetentionDays !== undefined,
  start: async ({ config, store, logger }) =>
    startAuditRetention(store, {
      days: config.auditRetentionDays ?? 0,
      onDelete: (count) => logger.info({ count }, 'deleted expired audit records'),
      onError: (err) => logger.warn({ err }, 'audit retention failed'),
    }),
};

/**
 * Sets machine states from serf membership and node checks (docs/state-setter.md):
 * every server that runs it campaigns; only the leader decides and writes.
 */
const stateSetter: Daemon = {
  name: 'state setter',
  enabled: (config) => config.stateSetter !== undefined,
  start: async ({ config, store, inventory, metrics, logger }) => {
    const settings = config.stateSetter!;
    return startStateSetter({
      store,
      machines: inventory.machines,
      members: () => serfMembers(settings.serf),
      intervalMs: settings.intervalMs,
      graceMs: settings.graceMs,
      defaultGraceMs: settings.defaultGraceMs,
      logger,
      metrics,
    });
  },
};

/**
 * Repairs machines that stay unhealthy or unreachable by power-cycling them
 * through their BMCs (docs/repairs.md): every server that runs it campaigns;
 * only the leader decides and acts.
 */
const repairQueue: Daemon = {
  name: 'repair queue',
  enabled: (config) => config.repairs?.run === true,
  start: async ({ config, store, inventory, metrics, logger }) => {
    const settings = config.repairs!;
    return startRepairQueue({
      store,
      inventory,
      config: settings.config,
      intervalMs: settings.intervalMs,
      bmcPorts: settings.bmcPorts,
      logger,
      metrics,
    });
  },
};

export const DAEMONS: readonly Daemon[] = [storeCompaction, auditRetention, stateSetter, repairQueue];
