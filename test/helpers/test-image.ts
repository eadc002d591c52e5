/** The netboot test OS (images/build-test-image.sh), built once per test process. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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
  building ??= (async () => {
    const missing = missingQemuPackages();
    if (!existsSync(DNSMASQ)) missing.push('dnsmasq-base');
    if (!existsSync('/usr/bin/cpio')) missing.push('cpio');
    if (missing.length > 0) {
      throw new Error(
        `missing Debian packages: ${missing.join(' ')} — install them with: bash scripts/host-packages.sh (as root)`,
      );
    }
    try {
      const { stdout } = await execFileAsync('bash', [BUILD_SCRIPT], { timeout: 10 * 60_000, maxBuffer: 1 << 20 });
      const [vmlinuz, initrd] = stdout.trim().split('\n');
      assert.ok(vmlinuz && existsSync(vmlinuz), `build script printed no vmlinuz path: ${stdout}`);
      assert.ok(initrd && existsSync(initrd), `build script printed no initrd path: ${stdout}`);
      return { vmlinuz, initrd };
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`images/build-test-image.sh failed: ${(error as Error).message}\n${stderr}`, { cause: error });
    }
  })();
  return building;
}
