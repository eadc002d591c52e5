/**
 * Applying the config: its files under the node's root directory (written
 * next to their place and renamed, so a reader sees the old file or the new
 * one), and the address changes join-plan.ts decides, in one `ip -batch`.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { ConfigFile } from './ignition-files.js';
import { observedInterfaces, type ObservedInterface } from './join-plan.js';

const execFileAsync = promisify(execFile);

export class IpCommandError extends Error {
  override name = 'IpCommandError';
}
export const IP = '/usr/sbin/ip';

/** Writes every file under `root`; returns the paths written on the host. */
export async function writeConfigFiles(root: string, files: readonly ConfigFile[]): Promise<string[]> {
  const written: string[] = [];
  for (const file of files) {
    const target = join(root, file.path);
    await mkdir(dirname(target), { recursive: true });
    const staging = `${target}.tmp-${process.pid}`;
    await writeFile(staging, file.contents, { mode: file.mode });
    await chmod(staging, file.mode);
    await rename(staging, target);
    written.push(target);
  }
  return written;
}

/** The interfaces of this network namespace. */
export async function observeInterfaces(): Promise<ObservedInterface[]> {
  const { stdout } = await execFileAsync(IP, ['-j', 'address', 'show']);
  return observedInterfaces(JSON.parse(stdout) as unknown);
}

/** Runs `ip` commands in one batch; the error names the failing command. */
export async function ipBatch(commands: readonly string[]): Promise<void> {
  if (commands.length === 0) return;
  await new Promise<void>((resolve, reject) => {
    const child = execFile(IP, ['-batch', '-'], (error, _stdout, stderr) => {
      if (error)
        reject(new IpCommandError(`ip -batch failed: ${stderr.trim() || error.message} (commands: ${commands.join('; ')})`));
      else resolve();
    });
    child.stdin!.end(`${commands.join('\n')}\n`);
  });
}
