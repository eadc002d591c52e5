/** Assembling the normalized Topology from checked entries (only when every check passed): defaults, resolved paths. */
import { dirname, isAbsolute, join } from 'node:path';
import type { z } from 'zod';
import { positionOf } from '../../lib/yaml-source.js';
import { smpCpus, type Entry } from './checks.js';
import type { netem, Output, volume } from './schema.js';
import {
  DEFAULT_BMC_CREDENTIALS,
  defaultSerial,
  type Bmc,
  type Netem,
  type Origin,
  type Topology,
  type Volume,
} from './types.js';
import { dropUndefined, optional } from './values.js';

export function assemble(entries: readonly Entry[]): Topology {
  const topology: Topology = { networks: [], images: [], deviceClasses: [], networkNamespaces: [], nodes: [] };
  const hasBmcNetwork = entries.some((entry) => entry.kind === 'Network' && (entry.parsed as Output<'Network'>).type === 'bmc');
  for (const entry of entries) {
    const position = positionOf(entry.source, []);
    const origin: Origin = { file: position.file, line: position.line, column: position.column };
    const resolve = (path: string) => (isAbsolute(path) ? path : join(dirname(entry.source.file), path));
    switch (entry.schema) {
      case 'Network': {
        const spec = entry.parsed as Output<'Network'>;
        topology.networks.push({
          name: spec.name,
          type: spec.type,
          useNat: spec['use-nat'],
          ...optional('address', spec.address),
          origin,
        });
        break;
      }
      case 'Image': {
        const spec = entry.parsed as Output<'Image'>;
        topology.images.push({
          name: spec.name,
          ...optional('file', spec.file === undefined ? undefined : resolve(spec.file)),
          ...optional('url', spec.url),
          ...optional('compression', spec.compression),
          origin,
        });
        break;
      }
      case 'DeviceClass': {
        const spec = entry.parsed as Output<'DeviceClass'>;
        topology.deviceClasses.push({ name: spec.name, path: spec.path, origin });
        break;
      }
      case 'NetworkNamespace':
      case 'NetnsNode': {
        const spec = entry.parsed as Output<'NetworkNamespace'>;
        const common = {
          name: spec.name,
          interfaces: spec.interfaces.map((item, index) => ({
            index,
            network: item.network,
            addresses: item.addresses,
            ...optional('netem', netemOf(item.netem)),
          })),
          apps: spec.apps,
          initScripts: spec['init-scripts'].map(resolve),
          origin,
        };
        if (entry.schema === 'NetworkNamespace') topology.networkNamespaces.push({ kind: 'NetworkNamespace', ...common });
        else topology.nodes.push({ kind: 'Node', type: 'netns', ...common });
        break;
      }
      case 'VmNode': {
        const spec = entry.parsed as Output<'VmNode'>;
        const smp = spec.smp ?? { cpus: spec.cpu! };
        topology.nodes.push({
          kind: 'Node',
          type: 'vm',
          name: spec.name,
          interfaces: spec.interfaces.map((item, index) => ({
            index,
            network: item.network,
            addresses: [],
            ...optional('netem', netemOf(item.netem)),
          })),
          volumes: spec.volumes.map((item) => volumeOf(item, resolve)),
          ...optional('ignition', spec.ignition === undefined ? undefined : resolve(spec.ignition)),
          ...optional('kernel', spec.kernel === undefined ? undefined : resolve(spec.kernel)),
          ...optional('initrd', spec.initrd === undefined ? undefined : resolve(spec.initrd)),
          ...optional('append', spec.append),
          smp: { ...dropUndefined(smp), cpus: smpCpus({ smp })! },
          memoryMiB: spec.memory / 2 ** 20,
          ...optional('numaNodes', spec.numa?.nodes),
          ...optional('networkDeviceQueue', spec['network-device-queue']),
          uefi: spec.uefi,
          tpm: spec.tpm,
          smbios: { ...dropUndefined(spec.smbios), serial: spec.smbios.serial ?? defaultSerial(spec.name) },
          ...optional('bmc', hasBmcNetwork ? bmcOf(spec.bmc) : undefined),
          origin,
        });
        break;
      }
    }
  }
  return topology;
}

function bmcOf(spec: Output<'VmNode'>['bmc']): Bmc {
  return {
    username: spec?.username ?? DEFAULT_BMC_CREDENTIALS.username,
    password: spec?.password ?? DEFAULT_BMC_CREDENTIALS.password,
    ...optional('address', spec?.address),
  };
}

function netemOf(spec: z.output<typeof netem> | undefined): Netem | undefined {
  if (spec === undefined) return undefined;
  return {
    ...optional('delayUs', spec.delay),
    ...optional('jitterUs', spec.jitter),
    ...optional('lossPercent', spec.loss),
    ...optional('rateBitsPerSecond', spec.rate),
  };
}

function volumeOf(spec: z.output<typeof volume>, resolve: (path: string) => string): Volume {
  switch (spec.kind) {
    case 'image':
      return {
        kind: 'image',
        name: spec.name,
        image: spec.image,
        copyOnWrite: spec['copy-on-write'],
        cache: spec.cache,
        ...optional('deviceClass', spec['device-class']),
      };
    case 'localds':
      return {
        kind: 'localds',
        name: spec.name,
        userData: resolve(spec['user-data']),
        ...optional('networkConfig', spec['network-config'] === undefined ? undefined : resolve(spec['network-config'])),
        cache: spec.cache,
        ...optional('deviceClass', spec['device-class']),
      };
    case 'raw':
      return {
        kind: 'raw',
        name: spec.name,
        sizeBytes: spec.size,
        format: spec.format,
        cache: spec.cache,
        ...optional('deviceClass', spec['device-class']),
      };
    case 'hostPath':
      return { kind: 'hostPath', name: spec.name, path: spec.path, writable: spec.writable };
  }
}
