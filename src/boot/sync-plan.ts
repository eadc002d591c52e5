/**
 * Replication of images and assets, pure: from what the store lists, what this
 * server has in its directory and this server's own URL, the operations that
 * bring the directory and the lists of holders in line. Images and assets
 * share it; replica-sync.ts carries the operations out.
 *
 * A local entry counts as a copy only when its fingerprint — what can be seen
 * cheaply on disk: an image's SHA256SUMS, an asset file's size — is the listed
 * version's. Anything else in the directory is removed; a listed version this
 * server lacks is fetched from the servers listed as holding it.
 */

/** One replicated item as the store lists it. */
export interface ListedCopy {
  /** What the store calls it: an image ID, an asset name. */
  id: string;
  /** Its name in this server's directory: the image ID, the asset's numeric ID. */
  file: string;
  /** What a complete local copy of this version shows on disk (compared with LocalEntry.fingerprint). */
  fingerprint: string;
  /** Advertise URLs of the servers that hold a copy. */
  holders: readonly string[];
}

/** One name in this server's directory. */
export interface LocalEntry {
  file: string;
  /** What it shows on disk; undefined when it is incomplete or unreadable. */
  fingerprint: string | undefined;
}

export type SyncOp =
  /** A local entry that is no complete copy of a listed version (a leftover, a partial copy, older content). */
  | { kind: 'remove'; file: string; why: 'unlisted' | 'incomplete' | 'other-content' }
  /** This server holds a complete copy but is not listed as a holder. */
  | { kind: 'list-self'; id: string }
  /** This server is listed as a holder but has no complete copy (a crash before it was written, a lost disk). */
  | { kind: 'unlist-self'; id: string }
  /** This server lacks a copy: fetch it from one of `peers` (the other holders, in listed order). */
  | { kind: 'fetch'; id: string; peers: string[] }
  /** This server lacks a copy and no other server holds one yet: try again later. */
  | { kind: 'wait'; id: string };

/**
 * What one sync pass does, in order: removals first (so a fetch of a new
 * version can take the name), then corrections of this server's listing, then
 * fetches. An empty list means the directory and the store agree.
 */
export function planSync(listed: readonly ListedCopy[], local: readonly LocalEntry[], self: string): SyncOp[] {
  const byFile = new Map(listed.map((copy) => [copy.file, copy]));
  const held = new Set<string>();
  const ops: SyncOp[] = [];
  for (const entry of local) {
    const copy = byFile.get(entry.file);
    if (copy && entry.fingerprint === copy.fingerprint) {
      held.add(copy.id);
      continue;
    }
    const why = !copy ? 'unlisted' : entry.fingerprint === undefined ? 'incomplete' : 'other-content';
    ops.push({ kind: 'remove', file: entry.file, why });
  }
  const fetches: SyncOp[] = [];
  for (const copy of listed) {
    const here = held.has(copy.id);
    const listedHere = copy.holders.includes(self);
    if (here && !listedHere) ops.push({ kind: 'list-self', id: copy.id });
    if (!here && listedHere) ops.push({ kind: 'unlist-self', id: copy.id });
    if (here) continue;
    const peers = copy.holders.filter((url) => url !== self);
    fetches.push(peers.length > 0 ? { kind: 'fetch', id: copy.id, peers } : { kind: 'wait', id: copy.id });
  }
  return [...ops, ...fetches];
}

export type FetchedVerdict =
  /** The store no longer lists this version (deleted or replaced while it was fetched): throw the copy away. */
  | 'discard'
  /** Move the fetched copy into place and list this server as a holder. */
  | 'place'
  /** A complete copy is already in place (another pass got there first): just list this server. */
  | 'keep-local';

/**
 * What becomes of a copy fetched (and verified) for `fetched`, given what the
 * store lists under its ID now and what is at its name in the directory now.
 */
export function decideFetched(fetched: ListedCopy, current: ListedCopy | undefined, local: string | undefined): FetchedVerdict {
  if (!current || !sameVersion(current, fetched)) return 'discard';
  return local === current.fingerprint ? 'keep-local' : 'place';
}

/** Whether two listings name the same version: the same local name and the same content. */
export function sameVersion(a: ListedCopy, b: ListedCopy): boolean {
  return a.id === b.id && a.file === b.file && a.fingerprint === b.fingerprint;
}
