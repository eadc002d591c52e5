/**
 * Template versions (pure): IDs are dotted numbers such as 1.2.3, ordered
 * numerically part by part (1.10 after 1.9; missing parts count as 0). A role
 * keeps its newest KEEP_VERSIONS templates; machines boot the highest.
 */

import { compareVersions, sortVersions } from '../../lib/versions.js';

export { compareVersions, newestVersion, sortVersions } from '../../lib/versions.js';

export const KEEP_VERSIONS = 10;

const VERSION_ID = /^(0|[1-9][0-9]{0,8})(\.(0|[1-9][0-9]{0,8})){0,3}$/;

export type VersionAdd = { kind: 'ok'; ids: string[]; pruned: string[] } | { kind: 'conflict'; message: string };

/** Why `id` is not a version ID, if it is not. */
export function versionProblem(id: string): string | undefined {
  if (VERSION_ID.test(id)) return undefined;
  return `${JSON.stringify(id)} is not a version: use 1 to 4 dotted numbers without leading zeros, e.g. 1.2.3`;
}

/**
 * Adding `id` to a role that has `existing`: the new ID list (oldest first)
 * and the IDs it pushes out. IDs are immutable, so an existing version is a
 * conflict, and so is one too old to be kept.
 */
export function planVersionAdd(existing: readonly string[], id: string, keep = KEEP_VERSIONS): VersionAdd {
  const same = existing.find((other) => compareVersions(other, id) === 0);
  if (same === id) return { kind: 'conflict', message: `version ${id} exists; IDs are immutable: upload a higher version` };
  if (same !== undefined) return { kind: 'conflict', message: `version ${id} is the same version as the existing ${same}` };
  const ids = sortVersions([...existing, id]);
  const pruned = ids.slice(0, Math.max(0, ids.length - keep));
  if (pruned.includes(id)) {
    return {
      kind: 'conflict',
      message: `version ${id} is older than the ${keep} versions kept (the oldest is ${ids[pruned.length]}): it would be removed at once`,
    };
  }
  return { kind: 'ok', ids: ids.slice(pruned.length), pruned };
}
