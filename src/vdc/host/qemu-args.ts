/**
 * The QEMU command line of one VM node, as placemat builds it (see
 * docs/dc-yaml.md and the placemat reference), with Yagura's changes: the MAC
 * addresses are stable, the serial console is a socket *and* a log file that
 * keeps every boot, and direct kernel boot is possible.
 *
 * Pure: paths and taps come in, argv goes out; nothing here looks at the
 * file system. The entry points are:
 *
 *   nodePaths(runDir, dataDir, node)  where the node's sockets, logs and firmware variables live
 *   qemuArgs({ node, dcName, accel, taps, volumes, paths, boot? })  the argv after the QEMU binary
 *   macAddress(dcName, nodeName, index)  the MAC of a NIC (the supervisor shows it in status)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { UserError } from '../../lib/errors.js';
import type { BootOverride } from '../bmc/machine.js';
import type { VmNode, VolumeCache } from '../spec/index.js';

/** 'kvm' only when /dev/kvm exists and the CPU has VMX/SVM; the caller decides (KVM without them hangs). */
export type Accel = 'kvm' | 'tcg';

/** Debian's ovmf: the 4 MiB build, whose variable store has room for enrolled keys and boot entries. */
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
/** The template every UEFI node's own variable store is copied from. */
export const OVMF_VARS_TEMPLATE = '/usr/share/OVMF/OVMF_VARS_4M.fd';

/** The longest path a unix socket may have (sun_path is 108 bytes with the terminating NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** What a prepared volume looks like to QEMU (volumes.ts makes them). */
export type AttachedVolume =
  | { kind: 'disk'; name: string; path: string; format: string; cache: VolumeCache }
  | { kind: 'hostPath'; name: string; path: string; writable: boolean };

/** Files of one node. Sockets and logs live in the run dir; what must survive a restart, in the data dir. */
export interface NodePaths {
  /** The serial console, a unix socket to attach to (`yagura dc console`). */
  console: string;
  /** Everything the console printed, every boot appended. */
  consoleLog: string;
  qmp: string;
  /** The `placemat` virtio-serial port: the guest announces its BMC address here. */
  guest: string;
  /** QEMU's PID while it runs; the supervisor's crash cleanup reads it. */
  pid: string;
  /** swtpm's socket (tpm nodes). */
  tpmSocket: string;
  /** swtpm's state directory (kept, like the disks). */
  tpmState: string;
  /** The node's copy of the UEFI variable store (kept: boot entries survive restarts). */
  nvram: string;
}

/** The node's paths; throws a UserError when a socket path would be too long for a unix socket. */
export function nodePaths(runDir: string, dataDir: string, nodeName: string): NodePaths {
  const paths: NodePaths = {
    console: join(runDir, `${nodeName}.console`),
    consoleLog: join(runDir, `${nodeName}.console.log`),
    qmp: join(runDir, `${nodeName}.qmp`),
    guest: join(runDir, `${nodeName}.guest`),
    pid: join(runDir, `${nodeName}.pid`),
    tpmSocket: join(runDir, `${nodeName}.tpm`),
    tpmState: join(dataDir, 'tpm', nodeName),
    nvram: join(dataDir, 'nvram', `${nodeName}.fd`),
  };
  for (const socket of [paths.console, paths.qmp, paths.guest, paths.tpmSocket]) {
    const bytes = Buffer.byteLength(socket);
    if (bytes > MAX_SOCKET_PATH_BYTES)
      throw new UserError(
        `the socket path ${socket} is ${bytes} bytes, but a unix socket path may have at most ${MAX_SOCKET_PATH_BYTES}: use a shorter run directory (or node name)`,
      );
  }
  return paths;
}

/**
 * The MAC of a node's NIC: 52:54:00 (QEMU's prefix) and three bytes of a hash
 * of (DC, node, interface index), so a machine keeps its MAC across restarts
 * and DHCP leases and the inventory stay valid (placemat's change every start).
 */
export function macAddress(dcName: string, nodeName: string, index: number): string {
  const digest = createHash('sha256').update(`${dcName}\0${nodeName}\0${index}`).digest();
  return ['52', '54', '00', ...[...digest.subarray(0, 3)].map((byte) => byte.toString(16).padStart(2, '0'))].join(':');
}

export interface QemuArgsInput {
  node: VmNode;
  dcName: string;
  accel: Accel;
  /** One tap per interface, in the order of node.interfaces (multiqueue taps when network-device-queue is set). */
  taps: readonly string[];
  /** The node's volumes, prepared, in the order of node.volumes. */
  volumes: readonly AttachedVolume[];
  paths: NodePaths;
  /** The boot override for this start. */
  boot?: BootOverride;
}

/** QEMU's arguments (without the binary) for one start of the node. */
export function qemuArgs(input: QemuArgsInput): string[] {
  const { node, paths } = input;
  if (input.taps.length !== node.interfaces.length)
    throw new Error(`node ${node.name} has ${node.interfaces.length} interfaces but ${input.taps.length} taps were given`);
  return [
    ...['-name', node.name, '-no-user-config', '-nodefaults', '-machine', 'pc'],
    ...(input.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg']),
    ...['-smp', smpOption(node), '-m', `${node.memoryMiB}M`],
    ...numaArgs(node),
    ...['-smbios', smbiosOption(node)],
    ...firmwareArgs(node, paths),
    ...bootArgs(input.boot),
    ...nicArgs(input),
    ...input.volumes.flatMap(volumeArgs),
    ...(node.ignition === undefined ? [] : ['-fw_cfg', `name=opt/com.coreos/config,file=${escape(node.ignition)}`]),
    ...(node.tpm ? tpmArgs(paths) : []),
    ...kernelArgs(node),
    // The console: a socket to attach to, and a log that keeps every boot's output.
    '-nographic',
    ...[
      '-chardev',
      `socket,id=console,path=${escape(paths.console)},server=on,wait=off,logfile=${escape(paths.consoleLog)},logappend=on`,
    ],
    ...['-serial', 'chardev:console'],
    ...['-qmp', `unix:${escape(paths.qmp)},server=on,wait=off`],
    ...['-pidfile', paths.pid],
    // The guest announces its BMC address on this port, as with placemat.
    ...['-device', 'virtio-serial-pci,id=virtio-serial0'],
    ...['-chardev', `socket,id=guest,path=${escape(paths.guest)},server=on,wait=off`],
    ...['-device', 'virtserialport,bus=virtio-serial0.0,chardev=guest,name=placemat'],
    ...['-object', 'rng-random,id=rng0,filename=/dev/urandom', '-device', 'virtio-rng-pci,rng=rng0'],
  ];
}

function smpOption(node: VmNode): string {
  const { cpus, sockets, dies, cores, threads, maxcpus } = node.smp;
  const fields = { cpus, sockets, dies, cores, threads, maxcpus };
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/**
 * placemat splits the CPUs evenly across the NUMA nodes. QEMU 5.1+ also wants
 * every node's memory given, so it is split the same way (the last node gets
 * what does not divide).
 */
function numaArgs(node: VmNode): string[] {
  const nodes = node.numaNodes;
  if (nodes === undefined) return [];
  const cpus = node.smp.maxcpus ?? node.smp.cpus;
  const memoryPerNode = Math.floor(node.memoryMiB / nodes);
  const args: string[] = [];
  let firstCpu = 0;
  for (let id = 0; id < nodes; id++) {
    const count = Math.floor(cpus / nodes) + (id < cpus % nodes ? 1 : 0);
    const memory = id === nodes - 1 ? node.memoryMiB - memoryPerNode * (nodes - 1) : memoryPerNode;
    const cpuRange = count === 1 ? `${firstCpu}` : `${firstCpu}-${firstCpu + count - 1}`;
    args.push('-object', `memory-backend-ram,id=numa-mem${id},size=${memory}M`);
    args.push('-numa', `node,nodeid=${id},${count > 0 ? `cpus=${cpuRange},` : ''}memdev=numa-mem${id}`);
    firstCpu += count;
  }
  return args;
}

function smbiosOption(node: VmNode): string {
  const { manufacturer, product, serial } = node.smbios;
  const fields = [
    ...(manufacturer === undefined ? [] : [`manufacturer=${escape(manufacturer)}`]),
    ...(product === undefined ? [] : [`product=${escape(product)}`]),
    `serial=${escape(serial)}`,
  ];
  return `type=1,${fields.join(',')}`;
}

/**
 * OVMF's network boot options that UEFI VMs do without: PXE over IPv4 and
 * IPv6. OVMF tries every NIC's PXEv4, PXEv6, HTTPv4 and HTTPv6 options in that
 * order, and Yagura's DHCP gives PXE clients no boot file (it serves UEFI HTTP
 * Boot and iPXE only), so each PXE attempt only waits out its DHCP retries:
 * about 60 s for IPv4 and 60 s for IPv6 before HTTP Boot starts (measured under
 * TCG, see docs/netboot.md). With these fw_cfg knobs (edk2's
 * NetworkPkg, read by Debian's OVMF 2022.11) the PXE options are never
 * created, and HTTP Boot over IPv4 is the first network option.
 */
export const OVMF_NO_PXE = [
  ...['-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=n'],
  ...['-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=n'],
];

function firmwareArgs(node: VmNode, paths: NodePaths): string[] {
  if (!node.uefi) return []; // SeaBIOS, QEMU's default
  return [
    ...['-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${escape(OVMF_CODE)}`],
    ...['-drive', `if=pflash,format=raw,unit=1,file=${escape(paths.nvram)}`],
    ...OVMF_NO_PXE,
  ];
}

/** SeaBIOS retries the boot after 30 s when nothing booted (a boot server that is not up yet), as placemat. */
function bootArgs(boot: BootOverride | undefined): string[] {
  const order = boot === undefined ? [] : boot.device === 'disk' ? ['order=c'] : [boot.once ? 'once=n' : 'order=n'];
  return ['-boot', [...order, 'reboot-timeout=30000'].join(',')];
}

function nicArgs(input: QemuArgsInput): string[] {
  const { node, dcName, taps } = input;
  const queues = node.networkDeviceQueue;
  return node.interfaces.flatMap((iface, i) => {
    const id = `net${iface.index}`;
    const netdev = [`tap,id=${id},ifname=${taps[i]!},script=no,downscript=no`];
    const device = [`virtio-net-pci,netdev=${id},mac=${macAddress(dcName, node.name, iface.index)}`];
    if (queues !== undefined && queues > 1) {
      netdev.push(`queues=${queues}`);
      device.push(`mq=on,vectors=${2 * queues + 2}`);
    }
    // UEFI: no iPXE ROM, so OVMF's own network stack does HTTP Boot (PXE is off, see OVMF_NO_PXE). BIOS: ipxe-qemu's ROM (QEMU's default).
    if (node.uefi) device.push('romfile=');
    return ['-netdev', netdev.join(','), '-device', device.join(',')];
  });
}

function volumeArgs(volume: AttachedVolume): string[] {
  if (volume.kind === 'hostPath') {
    const readonly = volume.writable ? '' : ',readonly=on';
    return ['-virtfs', `local,path=${escape(volume.path)},mount_tag=${volume.name},security_model=none${readonly}`];
  }
  // Native AIO needs O_DIRECT, which only cache=none uses (placemat's rule).
  const aio = volume.cache === 'none' ? 'native' : 'threads';
  return ['-drive', `if=virtio,cache=${volume.cache},aio=${aio},format=${volume.format},file=${escape(volume.path)}`];
}

function tpmArgs(paths: NodePaths): string[] {
  return [
    ...['-chardev', `socket,id=tpm-chr,path=${escape(paths.tpmSocket)}`],
    ...['-tpmdev', 'emulator,id=tpm0,chardev=tpm-chr'],
    ...['-device', 'tpm-tis,tpmdev=tpm0'],
  ];
}

function kernelArgs(node: VmNode): string[] {
  if (node.kernel === undefined) return [];
  return [
    ...['-kernel', node.kernel],
    ...(node.initrd === undefined ? [] : ['-initrd', node.initrd]),
    ...(node.append === undefined ? [] : ['-append', node.append]),
  ];
}

/** A value inside a QEMU option list: commas are doubled, or they would start the next option. */
function escape(value: string): string {
  return value.replaceAll(',', ',,');
}
