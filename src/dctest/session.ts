/**
 * A data center brought up from a site spec, phase by phase, as dctest and
 * the demo both do: generate the site into a temp dir, `dc up` with the VMs
 * off, wait for the boot servers, load them through the CLI, power the VMs on
 * through their BMCs, wait for netboot, join and BGP. Each phase is recorded
 * with its time; Ctrl-C or SIGTERM stops the session at the next step, and
 * close() removes the DC and the files whatever happened.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSite, parseSiteSpec, type GeneratedSite } from '../fabric/index.js';
import { UserError } from '../lib/errors.js';
import { GENERATED_MARKER, writeGeneratedDir } from '../lib/generated-dir.js';
import type { HostTools } from '../vdc/host/tools.js';
import { down, up } from '../vdc/lifecycle.js';
import { checkDcName } from '../vdc/names.js';
import { runPaths } from '../vdc/run-dir.js';
import { planDctest, type DctestPlan } from './plan.js';
import type { DctestReport, PhaseRecord } from './report.js';
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

export interface SessionOptions {
  /** The site spec file (its name is the DC's unless `name`). */
  spec: { path: string; text: string };
  name?: string;
  timeoutMs: number;
  runRoot: string;
  dataRoot: string;
  tools: HostTools;
  /** The words that run this yagura CLI: the supervisor, the CLI in the boot servers, `dc apply`. */
  yagura: string[];
  progress: (message: string) => void;
}

export class Session {
  readonly started = Date.now();
  readonly site: GeneratedSite;
  readonly plan: DctestPlan;
  readonly dc: string;
  readonly report: DctestReport;
  /** Set once `dc up` has been started: close() takes it down. */
  private brought = false;
  private readonly interrupted: Promise<never>;
  private readonly onSignal: () => void;

  private constructor(
    readonly options: SessionOptions,
    readonly dir: string,
    site: GeneratedSite,
  ) {
    this.site = site;
    this.plan = planDctest(site.plan);
    this.dc = site.plan.name;
    this.report = {
      site: options.spec.path,
      dc: this.dc,
      racks: site.plan.racks.length,
      spines: site.plan.spines.length,
      servers: site.plan.machines.length,
      vms: site.plan.machines.filter((machine) => machine.kind === 'vm').length,
      phases: [],
      checks: [],
      passed: false,
      totalMs: 0,
    };
    let reject: (error: Error) => void = () => {};
    this.interrupted = new Promise<never>((_, no) => (reject = no));
    this.interrupted.catch(() => {});
    this.onSignal = () => reject(new UserError('interrupted', 130));
    process.once('SIGINT', this.onSignal).once('SIGTERM', this.onSignal);
  }

  /** Parses and generates the site (a bad spec throws before anything is made). */
  static async open(options: SessionOptions): Promise<Session> {
    const parsed = parseSiteSpec(options.spec);
    const site = generateSite({ ...parsed, name: checkDcName(options.name ?? parsed.name) });
    if (site.plan.core.length === 0)
      throw new UserError('the site has no netns boot server: dctest loads the site through its yagura serve');
    const dir = await mkdtemp(join(tmpdir(), `yagura-dctest-${site.plan.name}-`));
    return new Session(options, dir, site);
  }

  /** `work`, unless Ctrl-C comes first. */
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.interrupted]);
  }

  /** Runs one phase: recorded with its time and detail; a failure is recorded and thrown. */
  async phase<T>(name: string, work: () => Promise<T>, describe: (value: T) => string): Promise<T> {
    const at = Date.now();
    this.options.progress(`${name} …`);
    try {
      const value = await this.race(work());
      const record: PhaseRecord = { name, ms: Date.now() - at, ok: true, detail: describe(value) };
      this.report.phases.push(record);
      this.options.progress(`${name}: ${record.detail} (${(record.ms / 1000).toFixed(1)} s)`);
      return value;
    } catch (error) {
      this.report.phases.push({ name, ms: Date.now() - at, ok: false, detail: (error as Error).message });
      throw error;
    }
  }

  /** Every phase up to a converged, netbooted DC; returns what the checks need. */
  async bringUp(): Promise<RunContext> {
    const { options, site, plan, dc, dir } = this;
    const image = await this.phase<NodeOsImage | undefined>(
      'node OS',
      async () => (plan.netboot.length > 0 ? buildNodeOs() : undefined),
      (built) => (built ? `${built.vmlinuz}, ${built.initrd}` : 'not needed: no VM servers'),
    );
    await this.phase(
      'generate',
      () =>
        writeGeneratedDir(
          dir,
          [...site.files, { path: GENERATED_MARKER, content: `site ${dc}: written by yagura dctest\n`, mode: 0o644 }],
          true,
        ),
      () => `${site.files.length} files in ${dir}`,
    );
    this.brought = true;
    await this.phase(
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
          // The VMs wait for their BMCs.
          vmsOff: true,
        }),
      () => `${site.plan.racks.length} racks, ${site.plan.spines.length} spines, ${site.plan.machines.length} servers`,
    );
    const ctx: RunContext = {
      probe: { ip: options.tools.ip, dc, yagura: options.yagura },
      site: site.plan,
      plan,
      dir,
      paths: runPaths(options.runRoot, dc),
      core: site.plan.core[0]!,
      deadline: this.started + options.timeoutMs,
      progress: options.progress,
    };
    await this.phase(
      'boot servers',
      () => waitForBootServers(ctx),
      (detail) => detail,
    );
    await this.phase(
      'load',
      () => load(ctx, image),
      (detail) => detail,
    );
    const poweredAt = Date.now();
    await this.phase(
      'power on',
      () => powerOn(ctx, plan.netboot),
      (detail) => detail,
    );
    await this.phase(
      'netboot',
      () => waitForNetboot(ctx, plan.netboot, plan.joiners, poweredAt),
      (detail) => detail,
    );
    await this.phase(
      'BGP',
      () => waitForBgp(ctx, plan.bgpMembers),
      (detail) => detail,
    );
    return ctx;
  }

  /** Removes the DC (purged) and the generated files, unless `keep`; then the signal handlers go. */
  async close(keep: boolean): Promise<void> {
    process.removeListener('SIGINT', this.onSignal).removeListener('SIGTERM', this.onSignal);
    if (keep && this.brought) {
      this.report.kept = { dc: this.dc, dir: this.dir };
      return;
    }
    if (this.brought) {
      this.options.progress(`removing data center "${this.dc}"`);
      await down(this.dc, {
        runRoot: this.options.runRoot,
        dataRoot: this.options.dataRoot,
        tools: this.options.tools,
        purge: true,
      });
      this.options.progress(`data center "${this.dc}" removed`);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
