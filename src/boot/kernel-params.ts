/** Kernel parameters per OS, appended to the kernel line of every machine's iPXE script. */
import { auditOp, type Actor } from '../inventory/audit.js';
import { invalid } from '../lib/errors.js';
import type { Store } from '../store/interface.js';

export const MAX_KERNEL_PARAMS = 4096;
const key = (os: string) => `kernel-params/${os}`;

/**
 * What an iPXE kernel line can carry safely: printable ASCII without the
 * characters iPXE's script parser gives meaning to (`$` expands settings,
 * `#` starts a comment, `;`/`&`/`|` chain commands, quotes and backslash).
 */
const SAFE = /^[\x21-\x7e ]*$/;
const SPECIAL = /[$#;&|"'\\`]/;

export function kernelParamsProblem(params: string): string | undefined {
  if (Buffer.byteLength(params) > MAX_KERNEL_PARAMS) return `kernel parameters are over ${MAX_KERNEL_PARAMS} bytes`;
  if (!SAFE.test(params)) return 'kernel parameters must be printable ASCII on one line';
  const special = SPECIAL.exec(params);
  if (special) return `kernel parameters must not contain ${JSON.stringify(special[0])} (iPXE would interpret it)`;
  return undefined;
}

export async function getKernelParams(store: Store, os: string): Promise<string> {
  return (await store.get(key(os)))?.value ?? '';
}

export async function setKernelParams(store: Store, os: string, params: string, actor: Actor, host: string): Promise<void> {
  const problem = kernelParamsProblem(params);
  if (problem) throw invalid(problem, 'kernel-params');
  await store.txn({
    success: [
      { type: 'put', key: key(os), value: params },
      auditOp({ category: 'kernel-params', instance: os, action: 'set', detail: params }, actor, host, new Date()),
    ],
  });
}
