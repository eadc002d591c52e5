/**
 * Serf membership of a site (docs/node-agent.md): every server and every
 * boot server runs a serf agent, bound to its node0 (announced by BGP, so
 * every member reaches every other), that joins through the netns boot
 * servers. The state setter on the boot servers reads the members through
 * the local agent's RPC port. A config here is serf's own JSON config file;
 * in a template its facts are placeholders (ignition.ts), for a boot server
 * they are its own values.
 */
import type { MachinePlan, SitePlan } from './plan.js';

/** serf's default gossip port, on node0. */
export const SERF_PORT = 7946;
/** The agent's RPC address: loopback of the member's own namespace or host. */
export const SERF_RPC_ADDRESS = '127.0.0.1:7373';
/** Where a server's Ignition config puts its serf config (the node OS and `yagura node join` read it). */
export const SERF_CONFIG = '/etc/serf/serf.json';
/** A boot server's serf config in the generated site, relative to its directory. */
export const bootSerfConfigPath = (node: string): string => `serf/${node}.json`;

/** What a member's config says of it; in a template, placeholders. */
export interface SerfFacts {
  name: string;
  node0: string;
  serial: string;
  role: string;
  rack: string;
}

/**
 * Where members join: every netns boot server's gossip address (they run
 * serf from the start; VM boot servers run no agent yet). Retried until one
 * answers, so the order the DC starts in does not matter.
 */
export function serfJoinAddresses(plan: SitePlan): string[] {
  return plan.machines.filter((m) => m.boot && m.kind === 'netns').map((m) => `${m.node0}:${SERF_PORT}`);
}

/**
 * serf's JSON config for one member. Tags name the machine (serial, role,
 * rack); the agent adds os-version, uptime and failed-checks at run time.
 * The LAN profile: a dead member is suspected within seconds.
 */
export function serfConfig(plan: SitePlan, facts: SerfFacts): Record<string, unknown> {
  return {
    node_name: facts.name,
    bind: `${facts.node0}:${SERF_PORT}`,
    advertise: `${facts.node0}:${SERF_PORT}`,
    rpc_addr: SERF_RPC_ADDRESS,
    profile: 'lan',
    retry_join: serfJoinAddresses(plan),
    retry_interval: '5s',
    // A member that comes back (a rebooted server) is found again quickly; one gone for a day is forgotten.
    reconnect_interval: '10s',
    reconnect_timeout: '24h',
    tombstone_timeout: '24h',
    log_level: 'warn',
    tags: { serial: facts.serial, role: facts.role, rack: facts.rack },
  };
}

/** A boot server's serf config, with its own values. */
export function bootSerfConfig(plan: SitePlan, boot: MachinePlan): Record<string, unknown> {
  return serfConfig(plan, {
    name: boot.name,
    node0: boot.node0,
    serial: boot.serial,
    role: boot.role,
    rack: String(boot.rack),
  });
}
