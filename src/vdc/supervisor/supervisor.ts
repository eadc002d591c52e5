/**
 * The DC's supervisor: one process per running DC, started by `dc up` inside
 * the DC's namespace. It runs the init scripts and apps of every router and
 * netns node, the VMs and their virtual BMCs, answers `status`/`power`/`fault`/`hardware`/`stop`
 * on the control socket — and `grow`, after `dc apply` has added to the plan:
 * it starts what the plan has and it does not run yet — and stops everything it started on SIGTERM or `stop`.
 * It logs JSON lines (pino) to <run>/supervisor.log; `dc up` follows that log
 * for progress and for the "ready" or "failed" event.
 */
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { mapLimited } from '../../lib/concurrency.js';
import { readPlan, readState, runPaths, updateState, type DcState, type RunPaths } from '../run-dir.js';
import type { NetnsNode, NetworkNamespace, Topology } from '../spec/index.js';
import type { BuildPlan } from '../plan.js';
import { App, expandCommand, runInitScripts, type AppStatus } from './apps.js';
import { serveControl, type ControlRequest } from './control.js';
import { ImpairmentRelay } from './impairment-relay.js';
import type { Machines, MachineStatus } from './machines.js';
import type { SupervisorOptions } from './options.js';

export interface LiveStatus {
  apps: AppStatus[];
  machines: MachineStatus[];
}

/** What a `grow` request started. */
export interface Grown {
  members: string[];
  apps: { member: string; app: string }[];
  vms: string[];
  relayed: string[];
}

/** Members started at once: init scripts and app starts are short process spawns. */
const PARALLEL_STARTS = 8;

export async function runSupervisor(runDir: string, options: SupervisorOptions): Promise<void> {
  const paths = runPaths(dirname(runDir), basename(runDir));
  const logger = pino({ base: { dc: basename(runDir) } });
  const supervisor = new Supervisor(paths, logger, options);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void supervisor.stop(0));
  try {
    await supervisor.start();
  } catch (error) {
    logger.error({ event: 'failed', error: (error as Error).message }, `start failed: ${(error as Error).message}`);
    await updateState(paths, { phase: 'failed', failure: (error as Error).message }).catch(() => {});
    await supervisor.stop(1);
  }
}

class Supervisor {
  private readonly apps: App[] = [];
  /** Members whose init scripts have run. */
  private readonly startedMembers = new Set<string>();
  /** Links the relay impairs. */
  private readonly relayed = new Set<string>();
  private machines?: Machines;
  private relay?: ImpairmentRelay;
  /** Every node and app has started ("ready"): only then may the DC grow. */
  private ready = false;
  /** Grow requests run one at a time. */
  private growing: Promise<unknown> = Promise.resolve();
  private stopping?: Promise<void>;
  private closeControl?: () => Promise<void>;

  constructor(
    private readonly paths: RunPaths,
    private readonly logger: Logger,
    private readonly options: SupervisorOptions,
  ) {}

  async start(): Promise<void> {
    const { plan, topology } = await readPlan(this.paths);
    // VM support (QEMU, BMC servers) loads only for a DC with VMs, while `up` is still building.
    const vmSupport = topology.nodes.some((node) => node.type === 'vm') ? import('./machines.js') : undefined;
    await this.untilBuilt();
    const server = await serveControl(this.paths.control, (request) => this.handle(request));
    this.closeControl = () => new Promise((resolve) => server.close(() => resolve()));
    const state = await readState(this.paths);
    this.relay = new ImpairmentRelay(plan, this.paths, this.logger, this.options.tools);
    await this.relay.start();
    for (const link of plan.relayed) this.relayed.add(link.link);
    await this.startMembers(plan, topology, dirname(state?.files[0] ?? this.paths.runDir));
    if (vmSupport) {
      const { Machines } = await vmSupport;
      this.machines = new Machines(this.paths, this.dataDir(state), this.logger, this.options);
      await this.machines.add(plan, topology, (message) => this.progress(message));
    }
    await updateState(this.paths, { phase: 'running' });
    this.ready = true;
    this.logger.info({ event: 'ready' }, 'every node and app has started');
  }

  /** `dc up` starts the supervisor while it still configures the members; it says "starting" when done. */
  private async untilBuilt(): Promise<void> {
    const deadline = Date.now() + 10 * 60_000;
    // `ip netns exec` execs in place, so the parent is the `dc up` that builds; if it dies, nobody will finish.
    const builder = process.ppid;
    for (;;) {
      const phase = (await readState(this.paths))?.phase;
      if (phase === 'starting') return;
      if (process.ppid !== builder) throw new Error('`dc up` ended before the build was finished');
      if (phase !== 'building') throw new Error(`the build did not finish (phase ${phase ?? 'unknown'})`);
      if (Date.now() > deadline) throw new Error('the build took more than 10 minutes');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Stops apps, VMs and BMCs, then exits with `code`. Idempotent. */
  stop(code: number): Promise<void> {
    this.stopping ??= (async () => {
      this.logger.info({ event: 'stopping' }, 'stopping');
      await Promise.allSettled([...this.apps.map((app) => app.stop()), this.machines?.stop()]);
      await this.relay?.stop();
      await this.closeControl?.();
      await rm(this.paths.control, { force: true });
      this.logger.info({ event: 'stopped' }, 'stopped');
      // pino writes synchronously to a file descriptor, so nothing is lost by exiting now.
      process.exit(code);
    })();
    return this.stopping;
  }

  private progress(message: string): void {
    this.logger.info({ event: 'progress' }, message);
  }

  /**
   * Runs the init scripts of members that have not run them, then every app of
   * the topology that is not running yet: all of them at the start, the
   * additions when the DC grows. What runs is left alone.
   */
  private async startMembers(plan: BuildPlan, topology: Topology, cwd: string): Promise<Grown['apps']> {
    const members = new Map<string, NetworkNamespace | NetnsNode>();
    for (const member of topology.networkNamespaces) members.set(member.name, member);
    for (const node of topology.nodes) if (node.type === 'netns') members.set(node.name, node);
    const running = new Set(this.apps.map((app) => `${app.member}/${app.name}`));
    const pending = plan.members.filter(
      (setup) =>
        !this.startedMembers.has(setup.member) ||
        members.get(setup.member)!.apps.some((app) => !running.has(`${setup.member}/${app.name}`)),
    );
    const startedApps: Grown['apps'] = [];
    let started = 0;
    await mapLimited(pending, PARALLEL_STARTS, async (setup) => {
      const member = members.get(setup.member)!;
      const fresh = !this.startedMembers.has(member.name);
      if (fresh)
        await runInitScripts(
          member.name,
          setup.namespace,
          member.initScripts,
          this.paths.runDir,
          this.paths.logs,
          cwd,
          this.options.tools.ip,
        );
      this.startedMembers.add(member.name);
      const vars = { RUN_DIR: this.paths.runDir, DC: plan.dc, NAME: member.name, YAGURA: this.options.yagura };
      const apps = member.apps
        .filter((app) => !running.has(`${member.name}/${app.name}`))
        .map(
          (app) =>
            new App(
              member.name,
              setup.namespace,
              app.name,
              expandCommand(app.command, vars),
              this.paths.runDir,
              this.paths.logs,
              this.logger,
              cwd,
              this.options.tools.ip,
            ),
        );
      this.apps.push(...apps);
      await Promise.all(apps.map((app) => app.start()));
      startedApps.push(...apps.map((app) => ({ member: member.name, app: app.name })));
      started++;
      if (apps.length > 0 || (fresh && member.initScripts.length > 0))
        this.progress(
          `${member.name}: ${apps.map((app) => app.name).join(', ') || 'init scripts done'} (${started}/${pending.length})`,
        );
    });
    return startedApps;
  }

  /** `dc apply` has built the additions and stored the grown plan: start what it adds. */
  private async grow(): Promise<Grown> {
    const { plan, topology } = await readPlan(this.paths);
    const state = await readState(this.paths);
    const before = new Set(this.startedMembers);
    const relayed: string[] = [];
    for (const link of plan.relayed.filter((link) => !this.relayed.has(link.link))) {
      await this.relay!.change(link.link, link.bridge, link.netem);
      this.relayed.add(link.link);
      relayed.push(link.link);
    }
    const apps = await this.startMembers(plan, topology, dirname(state?.files[0] ?? this.paths.runDir));
    let vms: string[] = [];
    if (topology.nodes.some((node) => node.type === 'vm')) {
      if (!this.machines) {
        const { Machines } = await import('./machines.js');
        this.machines = new Machines(this.paths, this.dataDir(state), this.logger, this.options);
      }
      vms = await this.machines.add(plan, topology, (message) => this.progress(message));
    }
    const members = [...this.startedMembers].filter((member) => !before.has(member));
    this.logger.info({ event: 'grown', members, apps, vms, relayed }, 'the data center grew');
    return { members, apps, vms, relayed };
  }

  private dataDir(state: DcState | undefined): string {
    return state?.dataDir ?? join(this.paths.runDir, 'data');
  }

  private async handle(request: ControlRequest): Promise<unknown> {
    switch (request.op) {
      case 'status':
        return { apps: this.apps.map((app) => app.snapshot()), machines: this.machines?.status() ?? [] } satisfies LiveStatus;
      case 'power':
        if (!this.machines)
          throw new Error(`no VM node "${request.node}" (this data center has no VMs, or they are still starting)`);
        return this.machines.power(request.node, request.action);
      case 'fault':
      case 'hardware':
        if (!this.machines)
          throw new Error(`no VM node "${request.node}" (this data center has no VMs, or they are still starting)`);
        return this.machines.hardware(request);
      case 'netem':
        if (!this.relay) throw new Error('the data center is not started yet');
        await this.relay.change(request.link, request.bridge, request.netem);
        return 'ok';
      case 'grow': {
        if (!this.ready || this.stopping) throw new Error('the data center is not running (starting or stopping)');
        const grown = this.growing.then(() => this.grow());
        this.growing = grown.catch(() => {});
        return grown;
      }
      case 'stop':
        setImmediate(() => void this.stop(0));
        return 'stopping';
      default:
        throw new Error(`unknown request ${JSON.stringify((request as { op?: unknown }).op)}`);
    }
  }
}
