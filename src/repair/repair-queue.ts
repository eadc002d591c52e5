/**
 * The repair queue's loop around decideRepairs (decide-repairs.ts): every
 * boot server campaigns in one election on the store; the leader, every
 * interval, reads the machines, the repair records, the pause switch and the
 * BMC credentials, decides, and acts. Each action's record is written first,
 * guarded by its leadership and by the record being as it was read (a
 * person's cancel in between wins), and only then is the power cycle sent:
 * a leader that dies in between loses that attempt rather than sending it
 * twice. How each power cycle went is written afterwards. Every step is in
 * the audit log as the repair queue's, with its reason; an escalation writes
 * the machine's change to retiring in the same transaction as its record.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BmcCredentials } from '../inventory/bmc-credentials.js';
import type { Inventory } from '../inventory/inventory.js';
import type { Guard } from '../inventory/machines.js';
import type { BmcPorts } from '../lib/bmc-ports.js';
import { counterIn, gaugeIn, histogramIn } from '../lib/metrics.js';
import { NotLeaderError, type Leadership } from '../store/election.js';
import type { Store } from '../store/interface.js';
import { startLeaderLoop } from '../store/leader-loop.js';
import { powerCycle } from './bmc-power.js';
import { decideRepairs, type RepairAction, type RepairConfig } from './decide-repairs.js';
import { REPAIR_QUEUE_ACTOR, REPAIR_QUEUE_ELECTION, Repairs } from './repairs.js';

export interface RepairQueueOptions {
  store: Store;
  inventory: Inventory;
  config: RepairConfig;
  intervalMs: number;
  /** The ports the BMCs answer on. */
  bmcPorts: BmcPorts;
  /** How long one request to a BMC may take (default: bmc-power's). */
  bmcTimeoutMs?: number;
  logger: Logger;
  metrics: Registry;
  /** Names this server in the election and in the audit log's address field. */
  name?: string;
}

export interface RunningRepairQueue {
  stop(): Promise<void>;
  /** Whether this server leads now. */
  leading(): boolean;
}

/** From the fault to healthy again: minutes to a day. */
const REPAIR_SECONDS_BUCKETS = [60, 300, 600, 1200, 1800, 3600, 7200, 14_400, 43_200, 86_400];

export function startRepairQueue(options: RepairQueueOptions): RunningRepairQueue {
  const { logger, metrics } = options;
  const started = counterIn(metrics, 'yagura_repairs_started_total', 'Repairs the repair queue started');
  const succeeded = counterIn(metrics, 'yagura_repairs_succeeded_total', 'Repairs that ended with the machine healthy again');
  const escalated = counterIn(
    metrics,
    'yagura_repairs_escalated_total',
    'Repairs escalated to a person: the machine was set to retiring after its power cycles did not help',
  );
  const powerCycles = counterIn(metrics, 'yagura_repair_power_cycles_total', 'Power cycles sent through BMCs, by result', [
    'protocol',
    'result',
  ]);
  const rounds = counterIn(metrics, 'yagura_repair_queue_rounds_total', 'Repair queue rounds, by outcome', ['outcome']);
  const inProgress = gaugeIn(metrics, 'yagura_repairs_in_progress', 'Machines in repair (on the leader)');
  const leader = gaugeIn(metrics, 'yagura_repair_queue_leader', '1 while this server runs the repair queue');
  const repairSeconds = histogramIn(
    metrics,
    'yagura_repair_seconds',
    'Time from a fault (the machine turning unhealthy or unreachable) to the machine healthy again after a repair',
    REPAIR_SECONDS_BUCKETS,
  );
  const name = options.name ?? hostname();
  const actor = { user: REPAIR_QUEUE_ACTOR, ip: name };
  const repairs = new Repairs(options.store, options.inventory);

  const round = async (lead: Leadership): Promise<void> => {
    const observation = await repairs.observe();
    const now = Date.now();
    const decision = decideRepairs(observation.observed, options.config, now);
    const guard: Guard = { compare: lead.guard(), refusal: () => new NotLeaderError(lead.key) };
    const cycles: Promise<void>[] = [];
    for (const action of decision.actions) {
      if (!(await repairs.write(action, observation.stored.get(action.serial), actor, guard))) {
        logger.info(
          { serial: action.serial, action: action.kind },
          'repair queue: the record or machine changed meanwhile; deciding again',
        );
        continue;
      }
      const fields = { serial: action.serial, action: action.kind, reason: action.reason };
      if (action.kind === 'escalate') logger.warn(fields, 'repair queue: escalated to a person');
      else logger.info(fields, 'repair queue');
      if (action.kind === 'start') started.inc();
      if (action.kind === 'escalate') escalated.inc();
      if (action.kind === 'succeed') {
        succeeded.inc();
        repairSeconds.observe((now - Date.parse(action.next!.faultAt)) / 1000);
      }
      if (action.kind === 'start' || action.kind === 'attempt')
        cycles.push(sendPowerCycle(action, observation.credentials, guard));
    }
    inProgress.set(decision.queue.filter((entry) => entry.status === 'repairing').length);
    const failed = (await Promise.allSettled(cycles)).find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    rounds.inc({ outcome: 'decided' });
  };

  const sendPowerCycle = async (action: RepairAction, credentials: BmcCredentials | undefined, guard: Guard): Promise<void> => {
    const target = action.powerCycle;
    let result = '';
    let error: string | undefined;
    if (!target) error = 'its BMC speaks neither IPMI nor Redfish';
    else if (!credentials) error = 'no BMC credentials are set';
    else {
      try {
        result = await powerCycle({
          ...target,
          credentials,
          ports: options.bmcPorts,
          ...(options.bmcTimeoutMs ? { timeoutMs: options.bmcTimeoutMs } : {}),
        });
      } catch (cause) {
        error = (cause as Error).message;
      }
    }
    powerCycles.inc({ protocol: target?.protocol ?? 'none', result: error === undefined ? 'ok' : 'failed' });
    const fields = { serial: action.serial, attempt: action.next!.attempts };
    if (error === undefined) logger.info({ ...fields, result }, 'repair queue: power cycle sent');
    else logger.warn({ ...fields, error }, 'repair queue: power cycle failed');
    await repairs.recordPowerCycle(action.next!, result, error, actor, guard);
  };

  return startLeaderLoop({
    store: options.store,
    election: REPAIR_QUEUE_ELECTION,
    name,
    intervalMs: options.intervalMs,
    lead: (lead) => () => round(lead),
    onLeading: (leading) => {
      leader.set(leading ? 1 : 0);
      if (!leading) inProgress.set(0);
      logger.info({ name }, leading ? 'repair queue: leading' : 'repair queue: no longer leading');
    },
    onRoundError: (error) => {
      rounds.inc({ outcome: 'error' });
      logger.warn({ err: error }, 'repair queue round failed');
    },
    onCampaignError: (error) => logger.warn({ err: error }, 'repair queue: campaign failed; trying again'),
  });
}
