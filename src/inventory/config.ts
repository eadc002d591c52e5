/**
 * The inventory's configuration documents: IPAM (config/ipam), from which
 * every machine's addresses derive, and the DHCP settings (config/dhcp).
 */
import { conflict, invalid, notFound } from '../lib/errors.js';
import { readDocument, transact } from '../store/document.js';
import type { Store } from '../store/interface.js';
import type { Actor, Auditor } from './audit.js';
import { DHCP_KEY, dhcpCodec, IPAM_KEY, ipamCodec, MACHINES_CHANGED, MACHINES_PREFIX } from './documents.js';
import { ipamProblems } from './ipam.js';
import type { DhcpConfig, IpamConfig } from './model.js';

export const DEFAULT_DHCP: DhcpConfig = { 'lease-minutes': 60, 'dns-servers': [] };

export class InventoryConfig {
  constructor(
    private readonly store: Store,
    private readonly audit: Auditor,
  ) {}

  async getIpam(): Promise<IpamConfig> {
    const found = await readDocument(this.store, IPAM_KEY, ipamCodec);
    if (!found) throw notFound('IPAM config');
    return found.value;
  }

  /** Sets IPAM while no machine is registered. The current value is not decoded: setting a valid one repairs a corrupt one. */
  async setIpam(config: IpamConfig, actor: Actor): Promise<void> {
    const problem = ipamProblems(config)[0];
    if (problem) throw invalid(`${problem.field}: ${problem.message}`, problem.field);
    const value = ipamCodec.encode(IPAM_KEY, config);
    await transact(this.store, async (tx) => {
      const [current, machines] = await Promise.all([
        tx.getRaw(IPAM_KEY),
        this.store.range({ prefix: MACHINES_PREFIX, keysOnly: true, limit: 1 }),
        // Any machine write after this read touches MACHINES_CHANGED and makes the commit retry.
        tx.getRaw(MACHINES_CHANGED),
      ]);
      if (current?.value === value) return;
      if (machines.kvs.length > 0) {
        throw conflict(
          'IPAM cannot change while machines are registered (their addresses derive from it): remove every machine first',
        );
      }
      tx.put(IPAM_KEY, ipamCodec, config);
      tx.add(this.audit(actor, { category: 'ipam', instance: 'ipam', action: 'set', detail: value }));
    });
  }

  /** The DHCP settings; the defaults until someone sets them. */
  async getDhcp(): Promise<DhcpConfig> {
    return (await readDocument(this.store, DHCP_KEY, dhcpCodec))?.value ?? DEFAULT_DHCP;
  }

  /** Replaces the DHCP settings (a blind write: nothing derives from them). */
  async setDhcp(config: DhcpConfig, actor: Actor): Promise<void> {
    const stored: DhcpConfig = { 'lease-minutes': config['lease-minutes'], 'dns-servers': config['dns-servers'] };
    await transact(this.store, async (tx) => {
      tx.put(DHCP_KEY, dhcpCodec, stored);
      tx.add(this.audit(actor, { category: 'dhcp', instance: 'dhcp', action: 'set', detail: JSON.stringify(stored) }));
    });
  }
}
