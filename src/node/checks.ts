/**
 * The node checks (docs/node-agent.md): what a server reports about itself in
 * its serf tags, for the state setter to judge (a failed check turns the
 * machine unhealthy). Pure: the agent observes, this decides. The node OS's
 * /init runs the same checks in shell (images/node-os/init) and names them
 * the same way:
 *
 *   bird          BIRD does not answer on its control socket;
 *   bgp:PROTO     BGP session PROTO is not Established;
 *   url:NAME      a service that should run (--check-url NAME=URL) does not answer 2xx;
 *   disk:NAME     a disk that should be readable (--disk) cannot be read.
 */
import { FAILED_CHECKS_TAG, OS_VERSION_TAG, UPTIME_TAG } from '../lib/serf-tags.js';
import type { BgpProtocol } from './bird-protocols.js';

export interface NodeObservation {
  /** BIRD's BGP protocols, or undefined when BIRD does not answer. */
  bgp: readonly BgpProtocol[] | undefined;
  /** Services that should run, by name: whether each answered. */
  services: ReadonlyMap<string, boolean>;
  /** Disks that should be readable, by name: whether each was. */
  disks: ReadonlyMap<string, boolean>;
}

/** The failed checks, in a stable order (so an unchanged result changes no tag). */
export function failedChecks(observation: NodeObservation): string[] {
  const failed: string[] = [];
  if (observation.bgp === undefined) failed.push('bird');
  else for (const protocol of observation.bgp) if (protocol.bgp !== 'Established') failed.push(`bgp:${protocol.name}`);
  for (const [name, up] of [...observation.services].sort()) if (!up) failed.push(`url:${name}`);
  for (const [name, ok] of [...observation.disks].sort()) if (!ok) failed.push(`disk:${name}`);
  return failed;
}

/** How often uptime is refreshed in the tags (each change is gossiped to every member). */
export const UPTIME_STEP_SECONDS = 60;

/**
 * The tags to set now, or undefined when the last ones still hold: the failed
 * checks as they are, uptime rounded down to UPTIME_STEP_SECONDS.
 */
export function nodeTags(
  failed: readonly string[],
  uptimeSeconds: number,
  osVersion: string,
  last: Readonly<Record<string, string>> | undefined,
): Record<string, string> | undefined {
  const tags = {
    [FAILED_CHECKS_TAG]: failed.join(','),
    [UPTIME_TAG]: String(Math.floor(uptimeSeconds / UPTIME_STEP_SECONDS) * UPTIME_STEP_SECONDS),
    [OS_VERSION_TAG]: osVersion,
  };
  if (last && Object.entries(tags).every(([key, value]) => last[key] === value)) return undefined;
  return tags;
}
