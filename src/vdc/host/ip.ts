/**
 * Runs iproute2 in bulk: `ip -batch` / `tc -batch`, optionally inside a named
 * namespace (`-n`). One process per batch keeps building a DC close to the
 * cost of the kernel work itself (bench/vdc compares against a bare script).
 */
import { execFile, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import type { HostTools } from './tools.js';
import { UserError } from '../../lib/errors.js';

export const NETNS_DIR = '/run/netns';

/** A host tool (ip, tc, nft, sysctl) refused a change: one line naming the tool, the namespace and its reason. */
export class BatchError extends UserError {
  override name = 'BatchError';
}

export interface BatchOptions {
  namespace?: string;
  /** Keep going after a failing line (deleting things that may already be gone). */
  force?: boolean;
}

/** Runs the lines with `ip -batch -`; a failure names the failing line. */
export function ipBatch(tools: HostTools, lines: readonly string[], options: BatchOptions = {}): Promise<void> {
  return batch(tools.ip, lines, options);
}

/** Runs the lines with `tc -batch -`. */
export function tcBatch(tools: HostTools, lines: readonly string[], options: BatchOptions = {}): Promise<void> {
  return batch(tools.tc, lines, options);
}

async function batch(tool: string, lines: readonly string[], options: BatchOptions): Promise<void> {
  if (lines.length === 0) return;
  const args = [...(options.namespace ? ['-n', options.namespace] : []), ...(options.force ? ['-force'] : []), '-batch', '-'];
  const child = spawn(tool, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-16_384)));
  const exit = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  child.stdin.on('error', () => {}); // the tool may exit early on a bad line; its exit code tells
  child.stdin.end(lines.join('\n') + '\n');
  const code = await exit;
  if (code === 0 || (options.force && code !== null)) return;
  const where = options.namespace ? ` in namespace ${options.namespace}` : '';
  const failed = /Command failed -:(\d+)/.exec(stderr);
  const line = failed ? lines[Number(failed[1]) - 1] : undefined;
  const reason = stderr
    .split('\n')
    .filter((text) => text.trim() !== '' && !text.startsWith('Command failed'))
    .join('; ');
  throw new BatchError(
    `${tool.replace(/^.*\//, '')}${where} failed${line ? ` at "${line}"` : ''}: ${reason || `exit code ${code}`}`,
  );
}

/** Named namespaces, as `ip netns list` would show them (read from /run/netns directly). */
export async function listNamespaces(): Promise<string[]> {
  try {
    return (await readdir(NETNS_DIR)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Sets sysctls inside a namespace (undefined: the host's own), with one `sysctl` process. */
export async function setSysctls(
  tools: HostTools,
  namespace: string | undefined,
  settings: readonly [string, string][],
): Promise<void> {
  if (settings.length === 0) return;
  await inNamespace(tools, namespace, 'sysctl', ['-q', '-w', ...settings.map(([key, value]) => `${key}=${value}`)]);
}

/** Loads an nft script inside a namespace (undefined: the host's own). */
export async function nftScript(tools: HostTools, namespace: string | undefined, script: string): Promise<void> {
  await inNamespace(tools, namespace, tools.nft, ['-f', '-'], script);
}

/** Deletes an nft table if it exists. */
export async function nftDeleteTable(
  tools: HostTools,
  namespace: string | undefined,
  family: string,
  table: string,
): Promise<void> {
  await inNamespace(tools, namespace, tools.nft, ['delete', 'table', family, table]).catch(() => {});
}

async function inNamespace(
  tools: HostTools,
  namespace: string | undefined,
  command: string,
  args: string[],
  input?: string,
): Promise<void> {
  const [file, argv] = namespace ? [tools.ip, ['netns', 'exec', namespace, command, ...args]] : [command, args];
  try {
    await new Promise<void>((resolve, reject) => {
      const child = execFile(file, argv, (error, _stdout, stderr) =>
        error ? reject(Object.assign(error, { stderr })) : resolve(),
      );
      // A command that reads no input (sysctl) may exit before we close its stdin: that EPIPE is no failure.
      child.stdin?.on('error', () => {});
      child.stdin?.end(input ?? '');
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    const where = namespace ? `in namespace ${namespace}` : "in the host's namespace";
    throw new BatchError(`${command.replace(/^.*\//, '')} ${where} failed: ${stderr || (error as Error).message}`);
  }
}
