/**
 * A controller's life on the boot servers: every server campaigns in one
 * election on the store; the one that leads runs a round every interval until
 * it stops leading (its lease is lost) or the server stops, then campaigns
 * again. What a round writes it guards with its leadership (Leadership.guard),
 * so a deposed leader writes nothing. The state setter and the repair queue
 * are such controllers.
 */
import { sleep } from '../lib/sleep.js';
import { Election, NotLeaderError, type Leadership } from './election.js';
import type { Store } from './interface.js';
import { KeptLease } from './lease.js';

export interface LeaderLoopOptions {
  store: Store;
  /** The election's key prefix, e.g. "elections/state-setter/". */
  election: string;
  /** Names this server in the election (what its leader shows). */
  name: string;
  intervalMs: number;
  /**
   * Called each time this server starts to lead; returns the round to run every
   * interval while it leads. State kept between rounds lives in its closure, so
   * a new leadership starts afresh. The signal aborts when leadership is lost
   * or the server stops.
   */
  lead(leadership: Leadership): (signal: AbortSignal) => Promise<void>;
  /** Whether this server leads now (for a gauge and the log). */
  onLeading(leading: boolean): void;
  /** A round that failed other than by losing leadership; the next one runs after the interval. */
  onRoundError(error: unknown): void;
  /** A campaign that failed; the loop campaigns again a second later. */
  onCampaignError(error: unknown): void;
  /** The lease behind the candidacy (default 10 s): how long a dead leader blocks the others. */
  leaseTtlSeconds?: number;
}

export interface LeaderLoop {
  /** Whether this server leads now. */
  leading(): boolean;
  /** Stops the loop; a leader resigns, so another server leads at once. */
  stop(): Promise<void>;
}

const DEFAULT_LEASE_TTL_SECONDS = 10;

export function startLeaderLoop(options: LeaderLoopOptions): LeaderLoop {
  const stopping = new AbortController();
  let leadership: Leadership | undefined;

  const lead = async (lead: Leadership): Promise<void> => {
    const round = options.lead(lead);
    const signal = AbortSignal.any([stopping.signal, lead.lost]);
    while (!signal.aborted) {
      try {
        await round(signal);
      } catch (error) {
        if (error instanceof NotLeaderError) return;
        options.onRoundError(error);
      }
      await sleep(options.intervalMs, signal);
    }
  };

  const run = async (): Promise<void> => {
    while (!stopping.signal.aborted) {
      let lease: KeptLease | undefined;
      try {
        lease = await KeptLease.grant(options.store, options.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS);
        leadership = await new Election(options.store, options.election).campaign(lease, options.name, stopping.signal);
        options.onLeading(true);
        await lead(leadership);
      } catch (error) {
        if (!stopping.signal.aborted && !(error instanceof NotLeaderError)) options.onCampaignError(error);
      } finally {
        const was = leadership;
        leadership = undefined;
        if (was) options.onLeading(false);
        if (was && stopping.signal.aborted) await was.resign().catch(() => {});
        else await lease?.revoke().catch(() => {});
      }
      await sleep(1000, stopping.signal);
    }
  };
  const running = run();
  return {
    leading: () => leadership !== undefined,
    stop: async () => {
      stopping.abort();
      await running;
    },
  };
}
