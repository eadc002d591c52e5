/** The normalized topology's types, the document kinds and the defaults parseTopology fills in. */
import { createHash } from 'node:crypto';
import type { InterfaceAddress } from '../addresses.js';

/** Where a resource is defined, for messages from later stages (planning, building). */
export interface Origin {
  file: string;
  line: number;
  column: number;
}

export type NetworkType = 'internal' | 'external' | 'bmc';

export interface Network {
  name: string;
  type: NetworkType;
  useNat: boolean;
  /** The bridge's own address; its network is the range interface addresses must fall in. Absent on internal networks. */
  address?: InterfaceAddress;
  origin: Origin;
}

export interface Image {
  name: string;
  /** A local image file (relative paths are resolved against the YAML file's directory). Exactly one of file and url. */
  file?: string;
  /** An http(s) URL to download the image from. */
  url?: string;
  compression?: 'gzip' | 'bzip2';
  origin: Origin;
}

export interface DeviceClass {
  name: string;
  /** An absolute directory that holds the volume files of volumes in this class. */
  path: string;
  origin: Origin;
}

/** Link impairments applied by tc netem to what the node sends on the interface. */
export interface Netem {
  delayUs?: number;
  jitterUs?: number;
  lossPercent?: number;
  rateBitsPerSecond?: number;
}

export interface Interface {
  /** 0-based position: NIC order in a VM, ethN in a network namespace. */
  index: number;
  network: string;
  /** Addresses configured on the interface (network namespaces only; a VM sets its own). */
  addresses: InterfaceAddress[];
  netem?: Netem;
}

export interface App {
  name: string;
  command: string[];
}

/** A router, switch stand-in or service host: a network namespace with processes, no VM. */
export interface NetworkNamespace {
  kind: 'NetworkNamespace';
  name: string;
  interfaces: Interface[];
  apps: App[];
  /** Script paths run in order inside the namespace before the apps start. */
  initScripts: string[];
  origin: Origin;
}

/** A lightweight server (Yagura extension): a network namespace with its interfaces and processes. */
export interface NetnsNode {
  kind: 'Node';
  type: 'netns';
  name: string;
  interfaces: Interface[];
  apps: App[];
  initScripts: string[];
  origin: Origin;
}

export interface Smp {
  /** Always set: given, or derived from maxcpus or the topology as QEMU does. */
  cpus: number;
  cores?: number;
  threads?: number;
  dies?: number;
  sockets?: number;
  maxcpus?: number;
}

export type VolumeCache = 'none' | 'writeback' | 'writethrough' | 'directsync' | 'unsafe';

export type Volume =
  | { kind: 'image'; name: string; image: string; copyOnWrite: boolean; cache: VolumeCache; deviceClass?: string }
  | { kind: 'localds'; name: string; userData: string; networkConfig?: string; cache: VolumeCache; deviceClass?: string }
  | { kind: 'raw'; name: string; sizeBytes: number; format: 'qcow2' | 'raw'; cache: VolumeCache; deviceClass?: string }
  | { kind: 'hostPath'; name: string; path: string; writable: boolean };

export interface BmcCredentials {
  username: string;
  password: string;
}

/** A node's virtual BMC: its credentials and, when the topology fixes it, its IPv4 address on a bmc network. */
export interface Bmc extends BmcCredentials {
  /** Without it the BMC waits for the guest to announce its address on the `placemat` virtio-serial port. */
  address?: string;
}

export interface VmNode {
  kind: 'Node';
  type: 'vm';
  name: string;
  interfaces: Interface[];
  volumes: Volume[];
  ignition?: string;
  /** Direct kernel boot (Yagura extension): QEMU loads this kernel instead of booting from firmware. */
  kernel?: string;
  /** Only with kernel. */
  initrd?: string;
  /** The kernel command line; only with kernel. */
  append?: string;
  smp: Smp;
  memoryMiB: number;
  numaNodes?: number;
  networkDeviceQueue?: number;
  uefi: boolean;
  tpm: boolean;
  smbios: { manufacturer?: string; product?: string; serial: string };
  /** Present exactly when the topology has a bmc network: the node then gets a virtual BMC with these credentials. */
  bmc?: Bmc;
  origin: Origin;
}

export type Node = VmNode | NetnsNode;

export interface Topology {
  networks: Network[];
  images: Image[];
  deviceClasses: DeviceClass[];
  networkNamespaces: NetworkNamespace[];
  nodes: Node[];
}

export const KINDS = ['Network', 'NetworkNamespace', 'Node', 'Image', 'DeviceClass'] as const;
export type Kind = (typeof KINDS)[number];

/** A VM's memory when `memory` is left out (1G). */
export const DEFAULT_MEMORY_MIB = 1024;
/** placemat's fixed BMC credentials, so neco's tools (setup-hw, ipmitool scripts) work unchanged. */
/** In an app command, this word stands for the Yagura CLI itself (node and its entry), so it must be a word of its own. */
export const YAGURA_WORD = '${YAGURA}';

export const DEFAULT_BMC_CREDENTIALS: BmcCredentials = { username: 'cybozu', password: 'cybozu' };
/** Node SMBIOS serial when none is given: the SHA-1 of the node name in hex, as placemat does. */
export function defaultSerial(nodeName: string): string {
  return createHash('sha1').update(nodeName).digest('hex');
}
