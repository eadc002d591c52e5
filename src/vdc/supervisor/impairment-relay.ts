/**
 * The supervisor's side of link impairments on kernels without sch_netem: the
 * userspace relay (host/netem-relay.ts), started with the DC when the plan
 * hands it links, or on the first runtime `dc netem` otherwise.
 */
import type { Logger } from 'pino';
import { startNetemRelay, type NetemRelay } from '../host/netem-relay.js';
import { markedEnvironment } from '../host/processes.js';
import type { HostTools } from '../host/tools.js';
import { dcNamespace } from '../names.js';
import type { BuildPlan } from '../plan.js';
import type { RunPaths } from '../run-dir.js';
import type { Netem } from '../spec/index.js';

export class ImpairmentRelay {
  private relay?: Promise<NetemRelay>;

  constructor(
    private readonly plan: BuildPlan,
    private readonly paths: RunPaths,
    private readonly logger: Logger,
    private readonly tools: HostTools,
  ) {}

  /** Relays and impairs the links the plan left out of their bridges. */
  async start(): Promise<void> {
    if (this.plan.relayed.length === 0) return;
    const relay = await this.running();
    for (const link of this.plan.relayed) await relay.set(link.link, link.bridge, link.netem);
  }

  async change(link: string, bridge: string, netem: Netem | 'clear'): Promise<void> {
    if (netem === 'clear' && !this.relay) return; // nothing was ever relayed
    const relay = await this.running();
    if (netem === 'clear') await relay.clear(link);
    else await relay.set(link, bridge, netem);
  }

  async stop(): Promise<void> {
    await (await this.relay?.catch(() => undefined))?.stop();
  }

  private running(): Promise<NetemRelay> {
    this.relay ??= startNetemRelay({
      namespace: dcNamespace(this.plan.dc),
      controlSocket: `${this.paths.runDir}/netem-relay.sock`,
      log: this.logger.child({ component: 'netem-relay' }),
      env: markedEnvironment(this.paths.runDir),
      tools: this.tools,
    });
    return this.relay;
  }
}
