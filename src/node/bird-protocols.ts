/**
 * BIRD's protocol table (`birdc show protocols`), parsed: what the node
 * checks judge BGP by, and what dctest reads off the routers. Pure.
 */

export interface BgpProtocol {
  name: string;
  /** BIRD's state column: up, start, down, … */
  state: string;
  /** The BGP state from the info column: Established, Active, Connect, Passive, … */
  bgp: string;
}

/** The BGP protocols of `birdc show protocols`. */
export function bgpProtocols(output: string): BgpProtocol[] {
  const found: BgpProtocol[] = [];
  for (const line of output.split('\n')) {
    const match = /^(\S+)\s+BGP\s+\S+\s+(\S+)/.exec(line);
    if (!match) continue;
    const bgp = /\b(Idle|Connect|Active|OpenSent|OpenConfirm|Established|Close|Passive)\b/.exec(line)?.[1] ?? 'Down';
    found.push({ name: match[1]!, state: match[2]!, bgp });
  }
  return found;
}
