/** Running the built `yagura` binary (dist/cli/main.js) as a user would. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const YAGURA = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function checkBuilt(): void {
  if (!existsSync(YAGURA)) throw new Error(`${YAGURA} is missing: run "npm run build" first (npm test does)`);
}

/**
 * Tests never run a DHCP server on the host's interfaces: `serve` gets
 * --dhcp-listen off unless the test chooses an address itself (inside a
 * network namespace it created). Nor do they write under the default
 * /var/lib/yagura: a `serve` without --data-dir (e.g. one on etcd, whose image
 * and asset files still live in a data dir) gets a fresh temp dir, removed when
 * the test process exits.
 */
export function safeArgs(args: string[]): string[] {
  if (args[0] !== 'serve') return args;
  const safe = [...args];
  if (!safe.includes('--dhcp-listen')) safe.push('--dhcp-listen', 'off');
  if (!safe.includes('--data-dir') && !process.env.YAGURA_DATA_DIR) safe.push('--data-dir', freshDataDir());
  return safe;
}

let dataRoot: string | undefined;
function freshDataDir(): string {
  if (!dataRoot) {
    const root = mkdtempSync(join(tmpdir(), 'yagura-cli-data-'));
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    dataRoot = root;
  }
  return mkdtempSync(join(dataRoot, 'serve-'));
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs yagura to completion (killed after timeoutMs). */
export function runYagura(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Finished> {
  checkBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [YAGURA, ...safeArgs(args)], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running yagura (e.g. serve); stop() sends SIGTERM and waits for the exit code. */
export class RunningYagura {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    checkBuilt();
    this.child = spawn(process.execPath, [YAGURA, ...safeArgs(args)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Waits until stdout contains `text` (or the process exits). */
  async waitFor(text: string, timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stdout.includes(text)) {
      if (this.child.exitCode !== null)
        throw new Error(`yagura exited (${this.child.exitCode}) before printing ${text}: ${this.stderr}`);
      if (Date.now() > deadline)
        throw new Error(`yagura did not print ${text} within ${timeoutMs} ms: ${this.stdout}${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const exited = new Promise<number | null>((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.kill(signal);
    return exited;
  }
}

/** One line on stderr, starting "yagura: ", matching `pattern`, with no stack trace. */
export function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0]!, /^yagura: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(stderr, /\n\s+at /);
}

export function assertOk(result: Finished): void {
  assert.equal(result.code, 0, `expected exit 0, got ${result.code}:\n${result.stdout}${result.stderr}`);
}
