/**
 * Host programs a VM node may need (cloud-localds, swtpm), looked up on PATH
 * before use, so a missing one is reported with the Debian package to install
 * rather than as a bare ENOENT halfway through starting a machine.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UserError } from '../../lib/errors.js';

/** The directories searched by default: PATH, plus the sbin directories root's PATH usually has. */
export function defaultSearchPath(): string[] {
  const path = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  return [...new Set([...path, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'])];
}

/** The full path of an executable, or undefined. */
export function findExecutable(name: string, searchPath: readonly string[] = defaultSearchPath()): string | undefined {
  for (const dir of searchPath) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The full path of an executable; a UserError naming the Debian package when it is missing. */
export function requireExecutable(name: string, debianPackage: string, purpose: string, searchPath?: readonly string[]): string {
  const found = findExecutable(name, searchPath);
  if (found === undefined)
    throw new UserError(`${purpose} needs ${name}, which is not installed: install the Debian package ${debianPackage}`);
  return found;
}
