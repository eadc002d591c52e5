/**
 * Election candidates for the conformance suite. On etcd each candidate is a
 * real process (test/fixtures/election-candidate.ts) that the test pauses with
 * SIGSTOP or kills with SIGKILL. The embedded store admits one process only,
 * so there candidates live in the test process and "pausing" or "killing" one
 * stops its lease renewals — the only thing a dead process stops doing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Election, type Leadership } from '../../src/store/election.js';
import type { Store } from '../../src/store/interface.js';
import { KeptLease } from '../../src/store/lease.js';
import type { StoreConfig } from '../../src/store/factory.js';

export interface Candidate {
  readonly name: string;
  /** Resolves when this candidate becomes leader. */
  readonly elected: Promise<void>;
  isElected(): boolean;
  /** Stops the candidate dead (no renewals, no resign). */
  kill(): Promise<void>;
  /** Freezes the candidate (SIGSTOP); resume() thaws it. */
  pause(): void;
  resume(): void;
  /** Attempts a leader-guarded write: true when it committed. */
  write(): Promise<boolean>;
}

const CANDIDATE = fileURLToPath(new URL('../fixtures/election-candidate.ts', import.meta.url));

/** A candidate process campaigning under `${base}election/` and writing `${base}writes/NAME`. */
export function spawnCandidate(config: StoreConfig, base: string, name: string, ttl: number): Candidate {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', CANDIDATE, JSON.stringify(config), base, name, String(ttl)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  let elected = false;
  const electedPromise = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === 'elected') {
        elected = true;
        resolve();
      } else if (line.startsWith('write')) waiting.shift()?.(line);
    });
    child.on('exit', (code, signal) => reject(new Error(`candidate ${name} exited (${code ?? signal}) before being elected`)));
  });
  electedPromise.catch(() => {});
  return {
    name,
    elected: electedPromise,
    isElected: () => elected,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    write: () =>
      new Promise<boolean>((resolve) => {
        waiting.push((line) => resolve(line === 'write ok'));
        child.stdin!.write('write\n');
      }),
  };
}

export async function inProcessCandidate(store: Store, base: string, name: string, ttl: number): Promise<Candidate> {
  const lease = await KeptLease.grant(store, ttl);
  let leadership: Leadership | undefined;
  let dead = false;
  const elected = new Election(store, `${base}election/`).campaign(lease, name).then((l) => {
    leadership = l;
  });
  elected.catch(() => {});
  return {
    name,
    elected,
    isElected: () => leadership !== undefined,
    kill: async () => {
      dead = true;
      lease.abandon();
    },
    pause: () => lease.abandon(),
    resume: () => {},
    write: async () => {
      if (dead || !leadership) return false;
      try {
        await leadership.txn({ success: [{ type: 'put', key: `${base}writes/${name}`, value: String(Date.now()) }] });
        return true;
      } catch {
        return false;
      }
    },
  };
}
