/**
 * The state setter's loop around decideStates (decide-states.ts), as
 * sabakan-state-setter runs on the boot servers: every server campaigns for
 * leadership on the store; the leader, every interval, reads the machines and
 * the serf members, decides, and writes each change with its leadership as a
 * guard — a deposed leader writes nothing — and with the state it decided
 * from as the expectation, so a person's change in between wins. Each change
 * is in the audit log as the state setter's, with its reason. When the members
 * cannot be read (the serf agent is down), the round is skipped: no machine is
 * judged on a blind view. Pending judgements live in the leader's memory; a
 * new leader starts them afresh, so it never writes before a grace period.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Machines } from '../inventory/machines.js';
import { counterIn, gaugeIn } from '../lib/metrics.js';
import { NotLeaderError, type Leadership } from '../store/election.js';
import type { Store } from '../store/interface.js';
import { startLeaderLoop } from '../store/leader-loop.js';
import { decideStates, type MemberView, type Pending, type StateSetterConfig } from './decide-states.js';

export const STATE_SETTER_ELECTION = 'elections/state-setter/';
/** Who the audit log names for the state setter's changes. */
export const STATE_SETTER_ACTOR = 'state-setter';

export interface StateSetterOptions extends StateSetterConfig {
  store: Store;
  machines: Machines;
  /** The serf members, as the local agent sees them (SerfClient.members). */
  members: () => Promise<MemberView[]>;
  intervalMs: number;
  logger: Logger;
  metrics: Registry;
  /** Names this server in the election (what `leader` shows). */
  name?: string;
}

export interface RunningStateSetter {
  stop(): Promise<void>;
  /** Whether this server leads now. */
  leading(): boolean;
}

export function startStateSetter(options: StateSetterOptions): RunningStateSetter {
  const changes = counterIn(options.metrics, 'yagura_state_setter_changes_total', 'Machine states the state setter wrote', [
    'to',
  ]);
  const rounds = counterIn(options.metrics, 'yagura_state_setter_rounds_total', 'State setter rounds, by outcome', ['outcome']);
  const leader = gaugeIn(options.metrics, 'yagura_state_setter_leader', '1 while this server runs the state setter');
  const name = options.name ?? hostname();

  const round = async (lead: Leadership, pending: Map<string, Pending>): Promise<Map<string, Pending>> => {
    let members: MemberView[];
    try {
      members = await options.members();
    } catch (error) {
      rounds.inc({ outcome: 'no-members' });
      options.logger.warn({ err: error }, 'state setter: cannot read the serf members; this round is skipped');
      return pending;
    }
    const machines = await options.machines.all();
    const decision = decideStates(
      {
        machines: machines.map((machine) => ({
          serial: machine.spec.serial,
          state: machine.status.state,
          role: machine.spec.role,
          labels: machine.spec.labels,
        })),
        members,
        pending,
      },
      options,
      Date.now(),
    );
    for (const change of decision.changes) {
      const outcome = await options.machines.setState(
        change.serial,
        change.to,
        { user: STATE_SETTER_ACTOR, ip: name },
        {
          expect: change.from,
          reason: change.reason,
          guard: { compare: lead.guard(), refusal: () => new NotLeaderError(lead.key) },
        },
      );
      if (outcome === 'changed') {
        changes.inc({ to: change.to });
        options.logger.info(
          { serial: change.serial, from: change.from, to: change.to, reason: change.reason },
          'state setter changed a machine',
        );
      }
    }
    rounds.inc({ outcome: 'decided' });
    return decision.pending;
  };

  return startLeaderLoop({
    store: options.store,
    election: STATE_SETTER_ELECTION,
    name,
    intervalMs: options.intervalMs,
    lead: (lead) => {
      let pending = new Map<string, Pending>();
      return async () => {
        pending = await round(lead, pending);
      };
    },
    onLeading: (leading) => {
      leader.set(leading ? 1 : 0);
      options.logger.info({ name }, leading ? 'state setter: leading' : 'state setter: no longer leading');
    },
    onRoundError: (error) => {
      rounds.inc({ outcome: 'error' });
      options.logger.warn({ err: error }, 'state setter round failed');
    },
    onCampaignError: (error) => options.logger.warn({ err: error }, 'state setter: campaign failed; trying again'),
  });
}
