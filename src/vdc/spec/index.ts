/**
 * The virtual data center's topology: placemat v2 YAML (Network,
 * NetworkNamespace, Node, Image, DeviceClass) plus Yagura's extensions
 * (netns nodes, per-interface netem impairments, BMC credentials), parsed and
 * checked as a whole before anything is created. docs/dc-yaml.md is the
 * user-facing description of every rule here.
 *
 * Pure: no file or network access (nothing under spec/ imports node:fs, node:net,
 * node:child_process or node:dgram). The caller reads the files (lifecycle.ts) and
 * yaml-source.ts turns their text into documents with positions.
 */
export { parseTopology } from './parse.js';
export {
  DEFAULT_BMC_CREDENTIALS,
  DEFAULT_MEMORY_MIB,
  defaultSerial,
  KINDS,
  YAGURA_WORD,
  type App,
  type Bmc,
  type BmcCredentials,
  type DeviceClass,
  type Image,
  type Interface,
  type Kind,
  type Netem,
  type NetnsNode,
  type Network,
  type NetworkNamespace,
  type NetworkType,
  type Node,
  type Origin,
  type Smp,
  type Topology,
  type VmNode,
  type Volume,
  type VolumeCache,
} from './types.js';
export { TopologyError, formatProblem, type TopologyProblem } from '../topology-error.js';
export type { InterfaceAddress } from '../addresses.js';
export type { SourceFile } from '../../lib/yaml-source.js';
