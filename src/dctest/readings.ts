/**
 * What dctest reads from the data center, parsed: BIRD's protocol table, the
 * kernel's routes, ping's output, an interface's packet counters. Pure: the
 * probes (probe.ts) run the commands and hand their output here.
 */

export { bgpProtocols, type BgpProtocol } from '../node/bird-protocols.js';

export interface Route {
  /** The next hops' gateway addresses; a direct route has none. */
  nexthops: { via: string; dev: string }[];
  src?: string;
}

/** `ip route show ADDRESS` (one route, single or multipath), or undefined when there is none. */
export function parseRoute(output: string): Route | undefined {
  const text = output.trim();
  if (text === '') return undefined;
  const nexthops = [...text.matchAll(/\bvia (\S+) dev (\S+)/g)].map((match) => ({ via: match[1]!, dev: match[2]! }));
  const src = /\bsrc (\S+)/.exec(text)?.[1];
  return { nexthops, ...(src ? { src } : {}) };
}

export interface PingResult {
  sent: number;
  received: number;
  /** The longest run of consecutive unanswered requests, times the interval: the outage a user would see. */
  longestOutageMs: number;
}

/**
 * `ping -i INTERVAL` output with one line per answer ("icmp_seq=N"); sent is
 * the summary's "N packets transmitted". A request is lost when its sequence
 * number never got an answer.
 */
export function parsePing(output: string, intervalMs: number): PingResult {
  const sent = Number(/(\d+) packets transmitted/.exec(output)?.[1] ?? 0);
  const answered = new Set([...output.matchAll(/bytes from .*icmp_seq=(\d+)/g)].map((match) => Number(match[1])));
  let longest = 0;
  let run = 0;
  for (let seq = 1; seq <= sent; seq++) {
    run = answered.has(seq) ? 0 : run + 1;
    longest = Math.max(longest, run);
  }
  const received = [...answered].filter((seq) => seq >= 1 && seq <= sent).length;
  return { sent, received, longestOutageMs: longest * intervalMs };
}

/** The transmitted-packets counter of `ip -s link show DEV` (the number under "TX:"). */
export function txPackets(output: string): number {
  const match = /TX:[^\n]*\n\s*\d+\s+(\d+)/.exec(output);
  if (!match) throw new Error(`no TX counters in: ${output.slice(0, 200)}`);
  return Number(match[1]);
}

/** The line the node OS's /init prints once the config is applied and BIRD answers (images/node-os/init). */
export const NODE_OS_READY = /YAGURA-NODE-OS ready serial=(\S*) node0=(\S*) bird=(\S*) uptime=(\S+)s/;
/** The node OS's console line before it reboots to try again. */
export const NODE_OS_FAILED = /YAGURA-NODE-OS failed: [^\r\n]*/;

/** `ip route show` with many routes: each destination and its next hops (multipath "nexthop" lines included). */
export function parseRoutes(output: string): Map<string, Route> {
  const routes = new Map<string, Route>();
  let current: { destination: string; text: string } | undefined;
  const flush = () => {
    if (current) routes.set(current.destination.replace(/\/32$/, ''), parseRoute(current.text)!);
  };
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line) && current) current.text += ` ${line.trim()}`;
    else {
      flush();
      current = { destination: line.split(/\s+/)[0]!, text: line };
    }
  }
  flush();
  return routes;
}
