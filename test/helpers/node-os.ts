/** The Yagura node OS (images/build-node-os.sh), built once per test process. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { missingQemuPackages } from './qemu.js';

const execFileAsync = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const NODE_OS_BUILD_SCRIPT = join(REPO, 'images/build-node-os.sh');
export const BIRD = '/usr/sbin/bird';
export const BIRDC = '/usr/sbin/birdc';

/** The line /init prints once the config is applied and BIRD answers. */
export const NODE_OS_READY = /YAGURA-NODE-OS ready serial=(\S*) node0=(\S*) bird=(\S*) uptime=(\S+)s/;
/** What /init prints before it reboots to try again. */
export const NODE_OS_FAILED = /YAGURA-NODE-OS failed: [^\r\n]*/;

export interface NodeOsImage {
  vmlinuz: string;
  initrd: string;
}

let building: Promise<NodeOsImage> | undefined;
/** Builds the image once per test file (quick when the cache is current; the script serializes parallel builds). */
export function nodeOsImage(): Promise<NodeOsImage> {
  building ??= (async () => {
    const missing = missingQemuPackages();
    if (!existsSync('/usr/bin/cpio')) missing.push('cpio');
    if (!existsSync(BIRD)) missing.push('bird2');
    if (missing.length > 0) {
      throw new Error(
        `missing Debian packages: ${missing.join(' ')} — install them with: bash scripts/host-packages.sh (as root)`,
      );
    }
    try {
      const { stdout } = await execFileAsync('bash', [NODE_OS_BUILD_SCRIPT], { timeout: 10 * 60_000, maxBuffer: 1 << 20 });
      const [vmlinuz, initrd] = stdout.trim().split('\n');
      assert.ok(vmlinuz && existsSync(vmlinuz), `build script printed no vmlinuz path: ${stdout}`);
      assert.ok(initrd && existsSync(initrd), `build script printed no initrd path: ${stdout}`);
      return { vmlinuz, initrd };
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`images/build-node-os.sh failed: ${(error as Error).message}\n${stderr}`, { cause: error });
    }
  })();
  return building;
}
