/**
 * Virtual data centers for tests: `yagura dc` run as a user would (the built
 * CLI), with the run and data roots in a temp dir and a DC name unique to the
 * test process, so tests never touch /run/yagura or each other's DCs. Every DC
 * is also put in the cleanup registry: `dc down` runs at exit if a test dies.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { YAGURA, runYagura, type Finished } from './cli.js';
import { registerCleanup } from './netns.js';
import { tempDir } from './temp.js';

let next = 0;

export class TestDc {
  readonly env: NodeJS.ProcessEnv;
  private readonly dir = tempDir('dc');
  private readonly unregister: () => void;

  /** `label` keeps names readable: yt<pid><n>-<label> (at most 32 characters). */
  constructor(label: string) {
    this.name = `t${process.pid}x${next++}-${label}`.slice(0, 32);
    this.env = { YAGURA_DC_RUN_ROOT: `${this.dir.path}/run`, YAGURA_DC_DATA_ROOT: `${this.dir.path}/data` };
    this.unregister = registerCleanup(() => this.removeEverything());
  }

  readonly name: string;

  get runDir(): string {
    return `${this.dir.path}/run/${this.name}`;
  }

  yagura(args: string[], timeoutMs = 120_000): Promise<Finished> {
    return runYagura(args, { env: this.env, timeoutMs });
  }

  up(files: string[], extra: string[] = []): Promise<Finished> {
    return this.yagura(['dc', 'up', ...files, '--name', this.name, ...extra], 10 * 60_000);
  }

  /** `dc exec` in one of the DC's namespaces. */
  exec(member: string, command: string[], timeoutMs = 60_000): Promise<Finished> {
    return this.yagura(['dc', 'exec', member, '--dc', this.name, '--', ...command], timeoutMs);
  }

  async down(): Promise<Finished> {
    const result = await this.yagura(['dc', 'down', this.name, '--purge']);
    return result;
  }

  /** Takes the DC down (again: harmless after a successful down, vital after a failed test) and removes the temp dir. */
  dispose(): void {
    this.unregister();
    this.removeEverything();
  }

  private removeEverything(): void {
    try {
      execFileSync(process.execPath, [YAGURA, 'dc', 'down', this.name, '--purge'], {
        env: { ...process.env, ...this.env },
        stdio: 'ignore',
        timeout: 60_000,
      });
    } finally {
      this.dir.remove();
    }
  }
}

/** Namespaces in /run/netns that belong to the DC. */
export function namespacesOf(dc: string): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter((name) => name === `yg-${dc}` || name.startsWith(`yg-${dc}.`));
}

/** PIDs of processes whose environment marks them as the DC's (YAGURA_DC_RUN_DIR=runDir). */
export function processesOf(runDir: string): number[] {
  const mark = `YAGURA_DC_RUN_DIR=${runDir}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (environ.split('\0').includes(mark)) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}
