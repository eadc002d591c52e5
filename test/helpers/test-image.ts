/** The netboot test OS (images/build-test-image.sh), built once per test process. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { missingQemuPackages } from './qemu.js';

const execFileAsync = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const BUILD_SCRIPT = join(REPO, 'images/build-test-image.sh');
export const DNSMASQ = '/usr/sbin/dnsmasq';

/** The marker line /init prints; the serial comes from SMBIOS, cmdline from /proc/cmdline. */
export const MARKER = /YAGURA-TEST-OS booted serial=(\S*) uptime=\S+ cmdline=([^\r\n]*)/;

export interface TestImage {
  vmlinuz: string;
  initrd: string;
}

let building: Promise<TestImage> | undefined;
/** Builds the image once per test file (quick when the cache is current). */
export function testImage(): Promise<TestImage> {
  building ??= buildImage(BUILD_SCRIPT, { 'dnsmasq-base': DNSMASQ });
  return building;
}

/**
 * Runs an image build script (images/build-*.sh, which prints the kernel's and
 * the initrd's paths and serializes parallel builds itself), after checking the
 * host has QEMU, cpio and the given packages (Debian package name → a file it installs).
 */
export async function buildImage(script: string, packages: Record<string, string> = {}): Promise<TestImage> {
  const missing = missingQemuPackages();
  for (const [name, file] of Object.entries({ cpio: '/usr/bin/cpio', ...packages })) if (!existsSync(file)) missing.push(name);
  if (missing.length > 0) {
    throw new Error(`missing Debian packages: ${missing.join(' ')} — install them with: bash scripts/host-packages.sh (as root)`);
  }
  try {
    const { stdout } = await execFileAsync('bash', [script], { timeout: 10 * 60_000, maxBuffer: 1 << 20 });
    const [vmlinuz, initrd] = stdout.trim().split('\n');
    assert.ok(vmlinuz && existsSync(vmlinuz), `build script printed no vmlinuz path: ${stdout}`);
    assert.ok(initrd && existsSync(initrd), `build script printed no initrd path: ${stdout}`);
    return { vmlinuz, initrd };
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${relative(REPO, script)} failed: ${(error as Error).message}\n${stderr}`, { cause: error });
  }
}
