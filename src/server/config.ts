/**
 * What a boot server is made of, as already-parsed values: the CLI (yagura
 * serve) builds one from flags and environment, tests build one by hand.
 */
import type { Logger } from 'pino';
import type { AuthPolicy } from '../api/auth.js';
import type { BmcPorts } from '../lib/bmc-ports.js';
import type { ListenAddress } from '../lib/listen.js';
import type { RepairConfig } from '../repair/decide-repairs.js';
import type { StoreConfig } from '../store/factory.js';
import type { Store } from '../store/interface.js';

export interface BootServerConfig {
  /**
   * Open a store from this config (and close it on stop), or use one already open (left open on stop).
   * `waitMs`: while the store is unreachable, keep trying this long (default 0: fail at once).
   */
  store: { config: StoreConfig; waitMs?: number } | { opened: Store };
  /** The HTTP API. Port 0 picks a free port; then give advertiseUrl if peers must fetch files from this server. */
  listen: Listener;
  /** The HTTPS API, which alone serves disk keys (unless httpCrypts says otherwise); undefined: no HTTPS. */
  tls?: { listen: Listener; cert: Buffer; key: Buffer };
  /** Serve /api/v1/crypts on the plain HTTP listener too. Default: only when there is no HTTPS listener. */
  httpCrypts?: boolean;
  policy: AuthPolicy;
  logger: Logger;

  /** Where OS images and assets are kept on this server. */
  dataDir: string;
  /**
   * How machines (and peers) reach this server, e.g. http://10.69.0.3:10080. Undefined: machines are told
   * the address they used, and peers the first non-loopback IPv4 address with the HTTP port.
   */
  advertiseUrl?: string;
  /** How many OS images to keep (the newest); default: ImageRepository's. */
  imageKeep?: number;
  maxImageBytes?: number;
  maxAssetBytes?: number;
  /** iPXE EFI binary handed to UEFI HTTP Boot clients. */
  ipxeEfiPath: string;
  /** Replicating images and assets from peers. Default: started with the server, retrying every 5 s. */
  replication?: { start?: boolean; retryMs?: number };

  /** The DHCP server; undefined: no DHCP. */
  dhcp?: DhcpSettings;

  /** Keep this much store history (ms); undefined or 0: never compact. */
  compactionRetentionMs?: number;
  /** Delete audit records older than this many days; undefined: keep them all. */
  auditRetentionDays?: number;
  /** The state setter (docs/state-setter.md); undefined: this server does not run it. */
  stateSetter?: StateSetterSettings;
  /** The repair queue (docs/repairs.md); undefined: this server does not run it, and shows it with the default limits. */
  repairs?: RepairSettings;
}

export interface RepairSettings {
  /** Whether this server runs the queue (campaigns to lead it); the API shows the queue either way. */
  run: boolean;
  config: RepairConfig;
  /** How often the leader decides. */
  intervalMs: number;
  /** The ports the BMCs answer on. */
  bmcPorts: BmcPorts;
}

export interface StateSetterSettings {
  /** The local serf agent's RPC address (its -rpc-addr) and auth key. */
  serf: { host: string; port: number; authKey?: string };
  /** How often the leader decides. */
  intervalMs: number;
  /** How long an unhealthy or unreachable judgement must hold, per machine type, and for other types. */
  graceMs: Record<string, number>;
  defaultGraceMs: number;
}

/** An address to listen on; `text` is how the user wrote it, for error messages (default HOST:PORT). */
export interface Listener extends ListenAddress {
  text?: string;
}

export interface DhcpSettings {
  listen: Listener;
  /** This host's address (IPv4 as a number) on the directly attached node segment; undefined: the one inside the IPAM node pool. */
  localAddress?: number;
  /** Server identifier (option 54, IPv4 as a number); undefined: the local segment address, or the one that routes to the relay. */
  serverId?: number;
}
