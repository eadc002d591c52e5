/**
 * `yagura dctest`: one run, from a site spec to a report. Generates the site,
 * brings the DC up with its VMs off, and then, phase by phase, as a user
 * would: the boot servers' API, the load, power-on through the BMCs, netboot
 * and join, BGP; then the checks. The DC and the generated files are removed
 * afterwards whatever happened (Ctrl-C included), unless `keep`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSite, parseSiteSpec, type SiteSpec } from '../fabric/index.js';
import { UserError } from '../lib/errors.js';
import { GENERATED_MARKER, writeGeneratedDir } from '../lib/generated-dir.js';
import type { HostTools } from '../vdc/host/tools.js';
import { down, up } from '../vdc/lifecycle.js';
import { checkDcName } from '../vdc/names.js';
import { runPaths } from '../vdc/run-dir.js';
import { addRack } from './add-rack.js';
import { agreement, ecmp, reachability, torFailover, type CheckOutcome } from './checks.js';
import { planDctest } from './plan.js';
import { passed, type CheckRecord, type DctestReport, type PhaseRecord } from './report.js';
import {
  buildNodeOs,
  load,
  powerOn,
  waitForBgp,
  waitForBootServers,
  waitForNetboot,
  type NodeOsImage,
  type RunContext,
} from './steps.js';

export interface DctestOptions {
  /** The site spec file (its name is the DC's unless `name`). */
  spec: { path: string; text: string };
  name?: string;
  keep: boolean;
  /** Whether the live rack add is tried (the last check). */
  addRack: boolean;
  timeoutMs: number;
  runRoot: string;
  dataRoot: string;
  tools: HostTools;
  /** The words that run this yagura CLI: the supervisor, the CLI in the boot servers, `dc apply`. */
  yagura: string[];
  progress: (message: string) => void;
}

export async function runDctest(options: DctestOptions): Promise<DctestReport> {
  const started = Date.now();
  const parsed = parseSiteSpec(options.spec);
  const spec: SiteSpec = { ...parsed, name: checkDcName(options.name ?? parsed.name) };
  const site = generateSite(spec);
  const plan = planDctest(site.plan);
  const core = site.plan.core[0];
  if (!core) throw new UserError('dctest needs a netns boot server (the site has none): its yagura serve is what it loads');
  const dc = spec.name;
  const paths = runPaths(options.runRoot, dc);
  const report: DctestReport = {
    site: options.spec.path,
    dc,
    racks: site.plan.racks.length,
    spines: site.plan.spines.length,
    servers: site.plan.machines.length,
    vms: site.plan.machines.filter((machine) => machine.kind === 'vm').length,
    phases: [],
    checks: [],
    passed: false,
    totalMs: 0,
  };
  const dir = await mkdtemp(join(tmpdir(), `yagura-dctest-${dc}-`));

  // Ctrl-C or SIGTERM: stop at the next await, then clean up as after a failure.
  let onSignal: (() => void) | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = () => reject(new UserError('interrupted', 130));
  });
  interrupted.catch(() => {});
  process.once('SIGINT', onSignal!).once('SIGTERM', onSignal!);
  const race = <T>(work: Promise<T>): Promise<T> => Promise.race([work, interrupted]);

  const phase = async <T>(name: string, work: () => Promise<T>, describe: (value: T) => string): Promise<T> => {
    const at = Date.now();
    options.progress(`${name} …`);
    try {
      const value = await race(work());
      const record: PhaseRecord = { name, ms: Date.now() - at, ok: true, detail: describe(value) };
      report.phases.push(record);
      options.progress(`${name}: ${record.detail} (${((Date.now() - at) / 1000).toFixed(1)} s)`);
      return value;
    } catch (error) {
      report.phases.push({ name, ms: Date.now() - at, ok: false, detail: (error as Error).message });
      throw error;
    }
  };
  const check = async (name: CheckRecord['name'], work: () => Promise<CheckOutcome>): Promise<void> => {
    const at = Date.now();
    options.progress(`check ${name} …`);
    let outcome: CheckOutcome;
    try {
      outcome = await race(work());
    } catch (error) {
      if (error instanceof UserError && error.exitCode === 130) throw error;
      outcome = { ok: false, detail: `error: ${(error as Error).message}` };
    }
    report.checks.push({
      name,
      ms: Date.now() - at,
      ok: outcome.ok,
      detail: outcome.detail,
      ...(outcome.data ? { data: outcome.data } : {}),
    });
    options.progress(`check ${name}: ${outcome.ok ? 'pass' : 'FAIL'}: ${outcome.detail}`);
  };

  let brought = false;
  try {
    const image = await phase<NodeOsImage | undefined>(
      'node OS',
      async () => (plan.netboot.length > 0 ? buildNodeOs() : undefined),
      (built) => (built ? `${built.vmlinuz}, ${built.initrd}` : 'not needed: no VM servers'),
    );
    await phase(
      'generate',
      () =>
        writeGeneratedDir(
          dir,
          [...site.files, { path: GENERATED_MARKER, content: `site ${dc}: written by yagura dctest\n`, mode: 0o644 }],
          true,
        ),
      () => `${site.files.length} files in ${dir}`,
    );
    // The supervisor inherits this; the VMs wait for their BMCs.
    process.env.YAGURA_DC_VMS_POWER = 'off';
    brought = true;
    await phase(
      'DC up',
      () =>
        up({
          runRoot: options.runRoot,
          dataRoot: options.dataRoot,
          files: [join(dir, 'dc.yml')],
          dc,
          entry: options.yagura,
          tools: options.tools,
          progress: () => {},
        }),
      () => `${site.plan.racks.length} racks, ${site.plan.spines.length} spines, ${site.plan.machines.length} servers`,
    );
    const ctx: RunContext = {
      probe: { ip: options.tools.ip, dc, yagura: options.yagura },
      site: site.plan,
      plan,
      dir,
      paths,
      core,
      deadline: started + options.timeoutMs,
      progress: options.progress,
    };
    await phase(
      'boot servers',
      () => waitForBootServers(ctx),
      (detail) => detail,
    );
    await phase(
      'load',
      () => load(ctx, image),
      (detail) => detail,
    );
    const poweredAt = Date.now();
    await phase(
      'power on',
      () => powerOn(ctx, plan.netboot),
      (detail) => detail,
    );
    await phase(
      'netboot',
      () => waitForNetboot(ctx, plan.netboot, plan.joiners, poweredAt),
      (detail) => detail,
    );
    await phase(
      'BGP',
      () => waitForBgp(ctx, plan.bgpMembers),
      (detail) => detail,
    );

    await check('reachability', () => reachability(ctx));
    await check('ECMP', () => ecmp(ctx));
    await check('agreement', () => agreement(ctx, [...plan.netboot, ...plan.joiners]));
    await check('ToR failover', () => torFailover(ctx));
    if (options.addRack)
      await check('add rack', () => addRack(ctx, { spec: options.spec, name: dc, yagura: options.yagura, roots: options }));
  } catch (error) {
    report.error = (error as Error).message;
  } finally {
    process.removeListener('SIGINT', onSignal!).removeListener('SIGTERM', onSignal!);
    if (options.keep && brought) report.kept = { dc, dir };
    else {
      if (brought) {
        options.progress(`removing data center "${dc}"`);
        await down(dc, { runRoot: options.runRoot, dataRoot: options.dataRoot, tools: options.tools, purge: true });
      }
      await rm(dir, { recursive: true, force: true });
    }
  }
  report.totalMs = Date.now() - started;
  report.passed = passed(report);
  return report;
}
