/**
 * The live rack add, as an operator would grow a running site: the same spec
 * with one more rack (like the last one; the etcd core pinned, so nothing
 * running changes), generated into the same directory, applied to the running
 * DC with `yagura dc apply`, the spines' BIRD told to read their grown
 * configs, the new machines registered, the new VMs powered on — while a
 * server in rack 0 pings one in rack 1 every 100 ms, which must lose nothing.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { generateSite, parseSiteSpec } from '../fabric/index.js';
import { machinesFile } from '../fabric/plan.js';
import { GENERATED_MARKER, writeGeneratedDir } from '../lib/generated-dir.js';
import { memberNamespace } from '../vdc/names.js';
import type { CheckOutcome } from './checks.js';
import { reachability } from './checks.js';
import { planDctest } from './plan.js';
import { inMember, ok, onHost, yaguraIn } from './probe.js';
import { parsePing, type PingResult } from './readings.js';
import { powerOn, waitForBgp, waitForNetboot, type RunContext } from './steps.js';

export interface AddRackOptions {
  spec: { path: string; text: string };
  name: string;
  yagura: readonly string[];
  roots: { runRoot: string; dataRoot: string };
}

/** The spec's text with one more rack and the etcd core pinned at its current size. */
export function oneMoreRack(text: string, racks: number, etcdMembers: number): string {
  const document = parseDocument(text);
  document.set('racks', racks + 1);
  document.set('etcd-members', etcdMembers);
  return document.toString();
}

/** ping every 100 ms until stopped (SIGINT: ping prints its summary). */
function continuousPing(ctx: RunContext, from: string, to: string): { stop: () => Promise<PingResult> } {
  const child = spawn(
    ctx.probe.ip,
    ['netns', 'exec', memberNamespace(ctx.probe.dc, from), 'ping', '-n', '-i', '0.1', '-W', '1', to],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    stop: async () => {
      child.kill('SIGINT');
      await exited;
      return parsePing(output, 100);
    },
  };
}

export async function addRack(ctx: RunContext, options: AddRackOptions): Promise<CheckOutcome> {
  const racks = ctx.site.racks.length;
  const spec = parseSiteSpec({
    path: options.spec.path,
    text: oneMoreRack(options.spec.text, racks, ctx.site.core.length),
  });
  const grown = generateSite({ ...spec, name: options.name });
  const newRack = grown.plan.racks[racks]!;
  // Between two existing racks, or within the only one.
  const [first, second] = ctx.plan.probers;
  const within = first && ctx.plan.targets.find((target) => target.rack === first.rack && target.name !== first.name);
  const pair =
    ctx.plan.failover ??
    (first && second ? { from: first, to: second } : first && within ? { from: first, to: within } : undefined);
  if (!pair) return { ok: false, detail: 'no two netns machines to ping between while the rack is added' };
  const ping = continuousPing(ctx, pair.from.name, pair.to.node0);
  let result: PingResult | undefined;
  try {
    await writeGeneratedDir(
      ctx.dir,
      [...grown.files, { path: GENERATED_MARKER, content: `site ${options.name}: written by yagura dctest\n`, mode: 0o644 }],
      false,
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const apply = await onHost(
      [
        ...options.yagura,
        'dc',
        'apply',
        join(ctx.dir, 'dc.yml'),
        '--name',
        options.name,
        '--run-root',
        options.roots.runRoot,
        '--data-root',
        options.roots.dataRoot,
      ],
      10 * 60_000,
    );
    if (apply.code !== 0)
      throw new Error(`yagura dc apply failed (exit ${apply.code}): ${(apply.stderr || apply.stdout).trim().slice(-600)}`);
    // The spines' configs gained sessions with the new ToRs; BIRD reads them on `configure` without dropping the others.
    for (const spine of grown.plan.spines)
      ok(
        await inMember(ctx.probe, spine.name, [
          'birdc',
          '-s',
          join(ctx.paths.runDir, `bird-${spine.name}.ctl`),
          'configure',
          // BIRD was started from the DC's run dir: the config path must be absolute, quoted for birdc.
          `"${join(ctx.dir, 'bird', `${spine.name}.conf`)}"`,
        ]),
        `birdc configure on ${spine.name}`,
      );
    const added = join(ctx.dir, `machines-rack${newRack.rack}.json`);
    await writeFile(
      added,
      JSON.stringify(
        machinesFile(grown.plan).filter((machine) => machine.rack === newRack.rack),
        null,
        2,
      ),
    );
    await yaguraIn(ctx.probe, ctx.core.name, ['machines', 'create', '-f', added]);
    const next: RunContext = { ...ctx, site: grown.plan, plan: planDctest(grown.plan) };
    const vms = next.plan.netboot.filter((machine) => machine.rack === newRack.rack);
    const joiners = next.plan.joiners.filter((machine) => machine.rack === newRack.rack);
    const poweredAt = Date.now();
    await powerOn(next, vms);
    const booted = await waitForNetboot(next, vms, joiners, poweredAt);
    const bgp = await waitForBgp(next, next.plan.bgpMembers);
    result = await ping.stop();
    const reach = await reachability(next);
    const lost = result.sent - result.received;
    return {
      ok: lost === 0 && result.sent > 0 && reach.ok,
      detail: `rack ${newRack.rack} added live (${booted}; ${bgp}); ${pair.from.name} → ${pair.to.name} lost ${lost} of ${result.sent} pings meanwhile; ${reach.ok ? 'every node0 reachable' : reach.detail}`,
      data: { rack: newRack.rack, sent: result.sent, lost, reachability: reach.data },
    };
  } finally {
    if (!result) await ping.stop().catch(() => undefined);
  }
}
