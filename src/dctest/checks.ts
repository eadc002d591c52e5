/**
 * The checks of dctest, on a data center that is up, netbooted and converged:
 * reachability (every server's node0 from a server in every other rack), ECMP
 * (two equal-cost paths to every server), agreement (leases, inventory and DC)
 * and the ToR failover (one ToR of a rack down: the rack stays reachable; the
 * packets lost at a 100 ms ping interval are reported). Each returns its
 * outcome; none throws for a failed check.
 */
import type { LeaseListEntry } from '../boot/dhcp/lease-view.js';
import type { MachinePlan } from '../fabric/index.js';
import type { Machine } from '../inventory/model.js';
import { macAddress } from '../vdc/host/qemu-args.js';
import { checkAgreement } from './agreement.js';
import { reachabilityPairs, spineNexthops } from './plan.js';
import { count } from '../lib/plural.js';
import { sleep } from '../lib/sleep.js';
import { inMember, yaguraIn, type Probe } from './probe.js';
import { parsePing, parseRoute, parseRoutes, txPackets, type PingResult, type Route } from './readings.js';
import { waitForBgp, type RunContext } from './steps.js';

export interface CheckOutcome {
  ok: boolean;
  /** The site cannot show this (e.g. a failover between racks in a site of one rack): neither pass nor fail. */
  notApplicable?: true;
  detail: string;
  /** Numbers for scripts (-o json). */
  data?: Record<string, unknown>;
}

const quote = (words: string[]) => words.join(' ');

/** Runs `ip route show A` for many addresses in one member: one exec, one route each. */
async function routesIn(probe: Probe, member: string, addresses: string[]): Promise<Map<string, Route | undefined>> {
  const script = addresses.map((address) => `echo "== ${address}"; ip route show ${address}`).join('; ');
  const result = await inMember(probe, member, ['sh', '-c', script], 30_000);
  const routes = new Map<string, Route | undefined>();
  for (const section of result.stdout.split(/^== /m).slice(1)) {
    const [address, ...rest] = section.split('\n');
    routes.set(address!.trim(), parseRoute(rest.join('\n')));
  }
  return routes;
}

/** Every prober pings every node0 in the other racks (2 requests each, all in parallel). */
export async function reachability(ctx: RunContext): Promise<CheckOutcome> {
  const pairs = reachabilityPairs(ctx.plan);
  const failed: string[] = [];
  await Promise.all(
    ctx.plan.probers.map(async (from) => {
      const targets = pairs.filter((pair) => pair.from === from).map((pair) => pair.to);
      const script = targets
        .map(
          (to) => `(ping -c 2 -i 0.2 -W 2 -q ${to.node0} >/dev/null 2>&1 && echo "ok ${to.node0}" || echo "lost ${to.node0}") &`,
        )
        .join(' ');
      const result = await inMember(ctx.probe, from.name, ['sh', '-c', `${script} wait`], 60_000);
      for (const to of targets)
        if (!new RegExp(`^ok ${to.node0.replaceAll('.', '\\.')}$`, 'm').test(result.stdout))
          failed.push(`${from.name} → ${to.name} (${to.node0})`);
    }),
  );
  if (ctx.plan.probers.length < ctx.site.racks.length)
    failed.push(`racks without a netns server or boot server to ping from: ${ctx.site.racks.length - ctx.plan.probers.length}`);
  return {
    ok: failed.length === 0 && pairs.length > 0,
    detail:
      failed.length === 0
        ? `${count(pairs.length, 'pair')} from ${count(ctx.plan.probers.length, 'rack')}: every node0 answers`
        : `${failed.length} of ${pairs.length} unreachable: ${failed.slice(0, 6).join(', ')}`,
    data: { pairs: pairs.length, unreachable: failed },
  };
}

/**
 * Two equal-cost paths to every server: each spine routes every node0 over
 * both ToRs of its rack, and each prober routes every other rack's node0 over
 * both of its own ToRs.
 */
export async function ecmp(ctx: RunContext): Promise<CheckOutcome> {
  const problems: string[] = [];
  let routes = 0;
  await Promise.all([
    ...ctx.site.spines.map(async (spine) => {
      const found = await routesIn(
        ctx.probe,
        spine.name,
        ctx.plan.targets.map((target) => target.node0),
      );
      for (const target of ctx.plan.targets) {
        routes++;
        const hops = (found.get(target.node0)?.nexthops ?? []).map((hop) => hop.via).sort();
        const expected = spineNexthops(ctx.site, spine.name, target.rack).sort();
        if (quote(hops) !== quote(expected))
          problems.push(`${spine.name} → ${target.name}: via ${hops.join(', ') || 'nothing'}, not ${expected.join(' and ')}`);
      }
    }),
    ...ctx.plan.probers.map(async (from) => {
      const remote = ctx.plan.racks === 1 ? [] : ctx.plan.targets.filter((target) => target.rack !== from.rack);
      const found = await routesIn(
        ctx.probe,
        from.name,
        remote.map((target) => target.node0),
      );
      const tors = ctx.site.racks[from.rack]!.tors.map((tor) => tor.address).sort();
      for (const target of remote) {
        routes++;
        const hops = (found.get(target.node0)?.nexthops ?? []).map((hop) => hop.via).sort();
        if (quote(hops) !== quote(tors))
          problems.push(`${from.name} → ${target.name}: via ${hops.join(', ') || 'nothing'}, not ${tors.join(' and ')}`);
      }
    }),
  ]);
  return {
    ok: problems.length === 0 && routes > 0,
    detail:
      problems.length === 0
        ? `${routes} routes, each over two ToRs`
        : `${problems.length} of ${routes} routes without two paths: ${problems.slice(0, 4).join('; ')}`,
    data: { routes, problems },
  };
}

/** The leases, the inventory and the DC agree (agreement.ts). */
export async function agreement(ctx: RunContext, booted: readonly MachinePlan[]): Promise<CheckOutcome> {
  const inventory = JSON.parse(await yaguraIn(ctx.probe, ctx.core.name, ['machines', 'get', '-o', 'json'])) as Machine[];
  const leases = JSON.parse(
    await yaguraIn(ctx.probe, ctx.core.name, ['dhcp', 'leases', '--all', '-o', 'json']),
  ) as LeaseListEntry[];
  const macs = new Map<string, string[]>();
  await Promise.all(
    booted.map(async (machine) => {
      if (machine.kind === 'vm')
        macs.set(
          machine.name,
          [0, 1].map((i) => macAddress(ctx.probe.dc, machine.name, i)),
        );
      else {
        const result = await inMember(ctx.probe, machine.name, [
          'cat',
          '/sys/class/net/eth0/address',
          '/sys/class/net/eth1/address',
        ]);
        macs.set(
          machine.name,
          result.stdout.split('\n').filter((line) => line.trim() !== ''),
        );
      }
    }),
  );
  const torRoutes = new Map<string, Map<string, Route>>();
  await Promise.all(
    ctx.site.racks.flatMap((rack) =>
      rack.tors.map(async (tor) => {
        const result = await inMember(ctx.probe, tor.name, ['ip', 'route', 'show', 'proto', 'bird']);
        torRoutes.set(tor.name, parseRoutes(result.stdout));
      }),
    ),
  );
  const outcome = checkAgreement(ctx.site, booted, inventory, leases, { macs, torRoutes });
  return {
    ok: outcome.problems.length === 0,
    detail:
      outcome.problems.length === 0
        ? `agree: ${outcome.summary}`
        : `${outcome.problems.length} disagreements: ${outcome.problems.slice(0, 4).join('; ')}`,
    data: { summary: outcome.summary, problems: outcome.problems },
  };
}

/** A continuous ping in `from`'s namespace: started now, read when it has finished. */
export function startPing(ctx: RunContext, from: MachinePlan, to: string, count: number, intervalMs = 100): Promise<PingResult> {
  const seconds = (intervalMs / 1000).toFixed(3);
  return inMember(
    ctx.probe,
    from.name,
    ['ping', '-n', '-i', seconds, '-c', String(count), '-W', '1', to],
    count * intervalMs + 30_000,
  ).then((result) => parsePing(result.stdout, intervalMs));
}

export const FAILOVER_PINGS = 200;

/**
 * One ToR of a rack goes down — the one that carries the replies of the
 * probe flow, found by the target's NIC counters, so that the failure really
 * hits the flow — while a server in another rack pings a server of that rack
 * every 100 ms. BFD must take the dead paths out: the rack stays reachable,
 * and the packets lost and the longest outage are reported. The ToR then
 * comes back and its sessions must be Established again.
 */
export async function torFailover(ctx: RunContext): Promise<CheckOutcome> {
  const pair = ctx.plan.failover;
  if (!pair && ctx.plan.racks === 1)
    return {
      ok: false,
      notApplicable: true,
      detail: 'needs two racks: within a rack, servers reach each other on the shared segments',
    };
  if (!pair) return { ok: false, detail: 'no pair of netns servers in two racks to test with' };
  const { from, to } = pair;
  const counters = async () =>
    Promise.all(
      ['eth0', 'eth1'].map(async (dev) =>
        txPackets((await inMember(ctx.probe, to.name, ['ip', '-s', 'link', 'show', dev])).stdout),
      ),
    );
  const before = await counters();
  await inMember(ctx.probe, from.name, ['ping', '-n', '-q', '-i', '0.05', '-c', '40', '-W', '1', to.node0]);
  const after = await counters();
  const side = after[0]! - before[0]! >= after[1]! - before[1]! ? 0 : 1;
  const tor = ctx.site.racks[to.rack]!.tors[side];
  const devices = (await inMember(ctx.probe, tor.name, ['ls', '/sys/class/net'])).stdout
    .split(/\s+/)
    .filter((dev) => /^eth\d+$/.test(dev));
  const ping = startPing(ctx, from, to.node0, FAILOVER_PINGS);
  await sleep(3000);
  const downAt = Date.now();
  for (const dev of devices) await inMember(ctx.probe, tor.name, ['ip', 'link', 'set', dev, 'down']);
  await sleep(8000);
  for (const dev of devices) await inMember(ctx.probe, tor.name, ['ip', 'link', 'set', dev, 'up']);
  const upAt = Date.now();
  const result = await ping;
  let back: string;
  try {
    await waitForBgp({ ...ctx, deadline: Math.min(ctx.deadline, Date.now() + 180_000) }, [tor.name]);
    back = `sessions back in ${((Date.now() - upAt) / 1000).toFixed(1)} s`;
  } catch (error) {
    back = `sessions not back: ${(error as Error).message}`;
  }
  const lost = result.sent - result.received;
  const reachable = result.received > 0 && result.longestOutageMs < upAt - downAt;
  return {
    ok: reachable && back.startsWith('sessions back') && result.sent === FAILOVER_PINGS,
    detail: `${tor.name} down ${((upAt - downAt) / 1000).toFixed(0)} s (carried ${to.name}'s replies): ${from.name} → ${to.name} lost ${lost} of ${result.sent} pings, longest outage ${result.longestOutageMs} ms; ${back}`,
    data: { tor: tor.name, sent: result.sent, lost, longestOutageMs: result.longestOutageMs },
  };
}
