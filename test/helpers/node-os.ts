/** The Yagura node OS (images/build-node-os.sh), built once per test process. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage } from './test-image.js';

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
  building ??= buildImage(NODE_OS_BUILD_SCRIPT, { bird2: BIRD });
  return building;
}
