/** The netboot test OS (images/build-test-image.sh), built once per test process. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runImageBuild } from '../../src/dctest/steps.js';
import { missingQemuPackages } from './qemu.js';

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
  return runImageBuild(script);
}
