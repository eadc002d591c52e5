/**
 * The processes of routers and netns nodes: init scripts (run to completion,
 * in order) and apps (long-running), each inside its namespace through
 * `ip netns exec`, which execs in place so the child's PID is the program's.
 * Output goes to <run>/logs/<member>.<app>.log and is kept; an app that exits
 * is remembered with its exit status, for `dc status`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { markedEnvironment } from '../host/processes.js';
import { YAGURA_WORD } from '../spec/index.js';

export type AppState = 'starting' | 'running' | 'exited';

export interface AppStatus {
  member: string;
  name: string;
  command: string[];
  state: AppState;
  pid?: number;
  /** Exit code, or the signal name when killed by one. */
  exit?: number | string;
  exitedAt?: string;
  log: string;
}

/** An app counts as started once it has stayed up this long (a bad flag usually kills it sooner). */
export const STARTED_AFTER_MS = 300;

export class App {
  private child?: ChildProcess;
  private readonly status: AppStatus;
  private stopping = false;
  private readonly exited: Promise<void>;
  private resolveExited!: () => void;

  constructor(
    readonly member: string,
    private readonly namespace: string,
    readonly name: string,
    readonly command: string[],
    private readonly runDir: string,
    logs: string,
    private readonly logger: Logger,
    /** The first topology file's directory: relative paths in commands resolve there, as in placemat. */
    private readonly cwd: string,
    /** The ip(8) that enters the namespace (HostTools.ip). */
    private readonly ip: string,
  ) {
    this.status = { member, name, command, state: 'starting', log: join(logs, `${member}.${name}.log`) };
    this.exited = new Promise((resolve) => (this.resolveExited = resolve));
  }

  /** Starts the app; resolves once it has been up STARTED_AFTER_MS, rejects if it exits before. */
  async start(): Promise<void> {
    const out = openSync(this.status.log, 'a');
    try {
      this.child = spawn(this.ip, ['netns', 'exec', this.namespace, ...this.command], {
        stdio: ['ignore', out, out],
        env: markedEnvironment(this.runDir),
        cwd: this.cwd,
      });
    } finally {
      closeSync(out);
    }
    const child = this.child;
    this.status.pid = child.pid;
    child.once('error', (error) => this.onExit(`error: ${error.message}`));
    child.once('exit', (code, signal) => this.onExit(code ?? signal ?? 'unknown'));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.status.state === 'starting') this.status.state = 'running';
        resolve();
      }, STARTED_AFTER_MS);
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`app ${this.name} in ${this.member} exited at once (${this.status.exit}); see ${this.status.log}`));
      });
    });
  }

  snapshot(): AppStatus {
    return { ...this.status };
  }

  /** SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs = 3000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || this.status.state === 'exited') return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onExit(exit: number | string): void {
    if (this.status.state === 'exited') return;
    this.status.state = 'exited';
    this.status.exit = exit;
    this.status.exitedAt = new Date().toISOString();
    if (!this.stopping)
      this.logger.warn(
        { event: 'app-exited', member: this.member, app: this.name, exit },
        `app ${this.name} in ${this.member} exited (${exit})`,
      );
    this.resolveExited();
  }
}

/** What an app command's variables stand for (expandCommand). */
export interface CommandVariables {
  RUN_DIR: string;
  DC: string;
  NAME: string;
  /** The words that run this Yagura CLI: the node executable, its flags, the CLI entry (dist/cli/main.js). */
  YAGURA: readonly string[];
}

/**
 * Expands the variables a command may use so that two DCs never share a
 * socket or pid file: ${RUN_DIR} (this DC's run dir), ${DC}, ${NAME} (the
 * router or node), inside any word; and a word that is exactly ${YAGURA}
 * becomes the words that run this same Yagura (node and its CLI entry), so an
 * app can be a boot server without yagura being on PATH or executable.
 * Anything else is left as written.
 */
export function expandCommand(words: readonly string[], vars: CommandVariables): string[] {
  return words.flatMap((word) =>
    word === YAGURA_WORD
      ? [...vars.YAGURA]
      : [word.replace(/\$\{(RUN_DIR|DC|NAME)\}/g, (_, name: 'RUN_DIR' | 'DC' | 'NAME') => vars[name])],
  );
}

/** Runs a namespace's init scripts in order; the first failure stops the DC's start with the script's output named. */
export async function runInitScripts(
  member: string,
  namespace: string,
  scripts: readonly string[],
  runDir: string,
  logs: string,
  cwd: string,
  ip: string,
): Promise<void> {
  for (const script of scripts) {
    const log = join(logs, `${member}.init.log`);
    const out = openSync(log, 'a');
    let child: ChildProcess;
    try {
      child = spawn(ip, ['netns', 'exec', namespace, script], {
        stdio: ['ignore', out, out],
        env: markedEnvironment(runDir),
        cwd,
      });
    } finally {
      closeSync(out);
    }
    const result = await new Promise<number | string>((resolve) => {
      child.once('error', (error) => resolve(error.message));
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    });
    if (result !== 0) throw new Error(`init script ${script} of ${member} failed (${result}); see ${log}`);
  }
}
