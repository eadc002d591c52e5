/**
 * What a netns boot server runs besides BIRD, as Neco's boot servers run
 * sabakan on a shared etcd: an etcd member of the one cluster all boot servers
 * form, and `yagura serve` on that cluster. Every address is the boot server's
 * node0 (on lo, announced by BGP), so any server of any rack reaches every
 * boot server, and each ToR relays DHCP to all of them. The data (etcd's and
 * the image and asset files) lives in the DC's run dir and goes with it.
 */
import type { MachinePlan } from './plan.js';
import { bootSerfConfigPath, SERF_RPC_ADDRESS } from './serf.js';

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const API_PORT = 10080;
export const DHCP_PORT = 67;

/**
 * Raft timers for a whole site on one loaded host: etcd's defaults (100 ms,
 * 1 s) make a busy 2-core machine hold elections; 10:1 as etcd advises.
 */
export const ETCD_HEARTBEAT_MS = 200;
export const ETCD_ELECTION_MS = 2000;

/** How long `yagura serve` waits for etcd at start: until BGP has converged and the members have a leader. */
export const STORE_WAIT = '2m';

/** An app of a dc YAML node: name and command words (docs/dc-yaml.md). */
export interface AppDocument {
  name: string;
  command: string[];
}

/**
 * What boot server `boot` runs: an etcd member and `yagura serve` when it is
 * one of the core (the boot servers that form the etcd cluster), else
 * `yagura serve` alone, on the core's cluster.
 */
export function bootServerApps(
  boot: MachinePlan,
  core: readonly MachinePlan[],
  serveFlags: readonly string[] = [],
): AppDocument[] {
  const member = core.some((machine) => machine.name === boot.name);
  return [...(member ? [etcdApp(boot, core)] : []), serveApp(boot, core, serveFlags), nodeAgentApp(member)];
}

/**
 * The boot server's serf agent and node checks (`yagura node agent`,
 * docs/node-agent.md): the state setter of its `yagura serve` reads the
 * members through this agent, and the boot server itself is judged as every
 * server is: its BGP sessions, `yagura serve` and, on a core member, etcd
 * must answer.
 */
function nodeAgentApp(member: boolean): AppDocument {
  return {
    name: 'node-agent',
    command: [
      '${YAGURA}',
      'node',
      'agent',
      '--serf-config',
      bootSerfConfigPath('${NAME}'),
      '--bird-socket',
      '${RUN_DIR}/bird-${NAME}.ctl',
      '--check-url',
      `serve=http://127.0.0.1:${API_PORT}/health`,
      ...(member ? ['--check-url', `etcd=http://127.0.0.1:${ETCD_CLIENT_PORT}/health`] : []),
    ],
  };
}

export function etcdClientUrl(machine: MachinePlan): string {
  return `http://${machine.node0}:${ETCD_CLIENT_PORT}`;
}

export function apiUrl(machine: MachinePlan): string {
  return `http://${machine.node0}:${API_PORT}`;
}

function etcdApp(boot: MachinePlan, bootServers: readonly MachinePlan[]): AppDocument {
  const peerUrl = `http://${boot.node0}:${ETCD_PEER_PORT}`;
  const cluster = bootServers.map((member) => `${member.name}=http://${member.node0}:${ETCD_PEER_PORT}`).join(',');
  return {
    name: 'etcd',
    command: [
      'etcd',
      `--name=${boot.name}`,
      '--data-dir=${RUN_DIR}/etcd-${NAME}',
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      // Loopback too, so that etcdctl inside the namespace works without flags.
      `--listen-client-urls=${etcdClientUrl(boot)},http://127.0.0.1:${ETCD_CLIENT_PORT}`,
      `--advertise-client-urls=${etcdClientUrl(boot)}`,
      `--initial-cluster=${cluster}`,
      '--initial-cluster-state=new',
      '--initial-cluster-token=${DC}',
      `--heartbeat-interval=${ETCD_HEARTBEAT_MS}`,
      `--election-timeout=${ETCD_ELECTION_MS}`,
      '--auto-compaction-retention=1',
      '--logger=zap',
      '--log-outputs=stderr',
    ],
  };
}

/**
 * `yagura serve` on the etcd cluster (every member, so it outlives its own).
 * DHCP listens on node0 only: it answers what the ToRs relay there, with node0
 * as the server identifier, and not the broadcasts on the boot server's own
 * rack segments (the ToRs relay those too), which it would otherwise answer
 * twice, once from the wrong segment when they came in on eth1.
 */
function serveApp(boot: MachinePlan, bootServers: readonly MachinePlan[], serveFlags: readonly string[]): AppDocument {
  return {
    name: 'yagura',
    command: [
      '${YAGURA}',
      'serve',
      '--store=etcd',
      `--etcd-endpoints=${bootServers.map(etcdClientUrl).join(',')}`,
      `--store-wait=${STORE_WAIT}`,
      `--listen=0.0.0.0:${API_PORT}`,
      `--dhcp-listen=${boot.node0}:${DHCP_PORT}`,
      `--dhcp-server-id=${boot.node0}`,
      `--advertise-url=${apiUrl(boot)}`,
      '--data-dir=${RUN_DIR}/yagura-${NAME}',
      `--state-setter-serf=${SERF_RPC_ADDRESS}`,
      ...serveFlags,
    ],
  };
}
