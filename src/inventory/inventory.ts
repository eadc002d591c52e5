/**
 * The inventory on the Store, composed of one part per kind of document:
 * `machines` (machines and their rack indices), `config` (IPAM and DHCP
 * settings), `crypts` (disk-key escrow), `bmcCredentials` (what the boot
 * servers log in to BMCs with) and `auditLog` (reading the record every
 * change writes in its own transaction). Each change is one
 * compare-and-swap transaction (store/document.ts `transact`) carrying its
 * audit record, retried when another writer got there first.
 */
import { hostname } from 'node:os';
import type { Store } from '../store/interface.js';
import { auditor } from './audit.js';
import { AuditLog } from './audit-log.js';
import { BmcCredentialStore } from './bmc-credentials.js';
import { InventoryConfig } from './config.js';
import { DiskKeys } from './crypts.js';
import { MachineCache } from './machine-cache.js';
import { Machines } from './machines.js';

export class Inventory {
  /** The in-memory mirror of every machine that searches run on. */
  readonly cache: MachineCache;
  readonly machines: Machines;
  readonly config: InventoryConfig;
  readonly crypts: DiskKeys;
  readonly auditLog: AuditLog;
  readonly bmcCredentials: BmcCredentialStore;

  /** `onError`: what the machine cache reports (a broken watch, a value under machines/ that is not a machine). */
  constructor(store: Store, onError: (error: unknown) => void = () => {}, now: () => Date = () => new Date()) {
    const audit = auditor(hostname(), now);
    this.cache = new MachineCache(store, onError);
    this.machines = new Machines(store, this.cache, audit, now);
    this.config = new InventoryConfig(store, audit);
    this.crypts = new DiskKeys(store, audit);
    this.auditLog = new AuditLog(store);
    this.bmcCredentials = new BmcCredentialStore(store, audit);
  }

  async start(): Promise<void> {
    await this.cache.start();
  }

  stop(): void {
    this.cache.stop();
  }
}
