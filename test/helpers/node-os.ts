/** The Yagura node OS (images/build-node-os.sh, as dctest builds it), built once per test process. */
import { BUILD_NODE_OS, type NodeOsImage } from '../../src/dctest/steps.js';
import { buildImage } from './test-image.js';

export const BIRD = '/usr/sbin/bird';
export const BIRDC = '/usr/sbin/birdc';

/** The console lines of the node OS: ready (serial, node0, bird, uptime), and failed before it reboots to try again. */
export { NODE_OS_FAILED, NODE_OS_READY } from '../../src/dctest/readings.js';

let building: Promise<NodeOsImage> | undefined;
/** Builds the image once per test file (quick when the cache is current; the script serializes parallel builds). */
export function nodeOsImage(): Promise<NodeOsImage> {
  building ??= buildImage(BUILD_NODE_OS, { bird2: BIRD });
  return building;
}
