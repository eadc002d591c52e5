/**
 * The DC's supervisor: one process per running DC, started by `dc up` inside
 * the DC's namespace. It runs the init scripts and apps of every router and
 * netns node, the VMs and their virtual BMCs, answers `status`/`power`/`stop`
 * on the control socket, and stops everything it started on SIGTERM or `stop`.
 * It logs JSON lines (pino) to <run>/supervisor.log; `dc up` follows that log
 * for progress and for the "ready" or "failed" event.
 */
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { mapLimited } from '../../lib/concurrency.js';
import { readPlan, readState, runPaths, updateState, type RunPaths } from '../run-dir.js';
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
  private machines?: Machines;
  private relay?: ImpairmentRelay;
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
    await this.startMembers(plan, topology, dirname(state?.files[0] ?? this.paths.runDir));
    if (vmSupport) {
      const { Machines } = await vmSupport;
      this.machines = new Machines(
        plan,
        topology,
        this.paths,
        state?.dataDir ?? join(this.paths.runDir, 'data'),
        this.logger,
        this.options,
      );
      await this.machines.start((message) => this.progress(message));
    }
    await updateState(this.paths, { phase: 'running' });
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

  private async startMembers(plan: BuildPlan, topology: Topology, cwd: string): Promise<void> {
    const members = new Map<string, NetworkNamespace | NetnsNode>();
    for (const member of topology.networkNamespaces) members.set(member.name, member);
    for (const node of topology.nodes) if (node.type === 'netns') members.set(node.name, node);
    let started = 0;
    await mapLimited(plan.members, PARALLEL_STARTS, async (setup) => {
      const member = members.get(setup.member)!;
      await runInitScripts(
        member.name,
        setup.namespace,
        member.initScripts,
        this.paths.runDir,
        this.paths.logs,
        cwd,
        this.options.tools.ip,
      );
      const vars = { RUN_DIR: this.paths.runDir, DC: plan.dc, NAME: member.name, YAGURA: this.options.yagura };
      const apps = member.apps.map(
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
      started++;
      if (apps.length > 0 || member.initScripts.length > 0)
        this.progress(
          `${member.name}: ${apps.map((app) => app.name).join(', ') || 'init scripts done'} (${started}/${plan.members.length})`,
        );
    });
  }

  private async handle(request: ControlRequest): Promise<unknown> {
    switch (request.op) {
      case 'status':
        return { apps: this.apps.map((app) => app.snapshot()), machines: this.machines?.status() ?? [] } satisfies LiveStatus;
      case 'power':
        if (!this.machines)
          throw new Error(`no VM node "${request.node}" (this data center has no VMs, or they are still starting)`);
        return this.machines.power(request.node, request.action);
      case 'netem':
        if (!this.relay) throw new Error('the data center is not started yet');
        await this.relay.change(request.link, request.bridge, request.netem);
        return 'ok';
      case 'stop':
        setImmediate(() => void this.stop(0));
        return 'stopping';
      default:
        throw new Error(`unknown request ${JSON.stringify((request as { op?: unknown }).op)}`);
    }
  }
}
