/**
 * The executor of sync-plan: one sync pass of a replicated directory (images
 * or assets). It observes the store and the directory under the store's
 * mutex, lets planSync decide, carries out removals and listing corrections,
 * and then fetches what is missing from peers — each download written under a
 * temp name, verified against the store's checksum, renamed into place and
 * recorded (this server listed as a holder) only if the store still lists
 * that version. ImageRepository and AssetRepository supply what differs (ReplicaFiles).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { moveIntoPlace, removeQuietly, tempPath, listDir } from './local-files.js';
import { httpGet } from '../lib/http-get.js';
import type { Mutex } from './mutex.js';
import { peerOrder, type SyncResult } from './replication.js';
import { decideFetched, type ListedCopy, planSync } from './sync-plan.js';

/** A listed copy with the store's entry it came from. */
export interface Replicated<E> extends ListedCopy {
  entry: E;
  /** What a download of this version must hash to (compared with what ReplicaFiles.receive returns). */
  digest: string;
}

/** What differs between images and assets: where they live, how they are read, fetched and recorded. */
export interface ReplicaFiles<E> {
  /** The kind, for logs: "image", "asset". */
  readonly what: string;
  /** This server's advertise URL. */
  readonly self: string;
  /** The directory of local copies, one name per copy. */
  readonly dir: string;
  /** Where downloads are written before they are verified (on the same file system as `dir`). */
  readonly tmpDir: string;
  /** Guards the directory and the store writes that must agree with it. */
  readonly lock: Mutex;
  readonly logger: Logger;
  /** Every copy the store lists (one snapshot). */
  listed(): Promise<Replicated<E>[]>;
  /** What the store lists under `id` now. */
  current(id: string): Promise<Replicated<E> | undefined>;
  /** The fingerprint of what is at `file` in `dir`; undefined when it is incomplete or unreadable. */
  inspect(file: string): Promise<string | undefined>;
  /** Where `peer` serves `copy`. */
  peerUrl(copy: Replicated<E>, peer: string): string;
  /**
   * Writes what the peer sent to `temp` (a path that does not exist yet) and
   * returns its digest; undefined when the answer is not this version.
   */
  receive(copy: Replicated<E>, response: Response, temp: string): Promise<string | undefined>;
  /** Lists or unlists this server as a holder of `copy`, only while the store lists that version (no audit: bookkeeping). */
  setHolder(copy: Replicated<E>, holds: boolean): Promise<void>;
}

/**
 * Makes the directory match the store: removes what no entry names, fetches
 * what is missing from peers and keeps this server listed exactly where it
 * holds a copy. `pending` when something could not be fetched yet.
 */
export async function syncReplica<E>(files: ReplicaFiles<E>, signal: AbortSignal): Promise<SyncResult> {
  const { fetches, listed } = await files.lock.run(async () => {
    const listed = new Map((await files.listed()).map((copy) => [copy.id, copy]));
    const names = (await listDir(files.dir)).filter((name) => join(files.dir, name) !== files.tmpDir);
    const local = await Promise.all(names.map(async (file) => ({ file, fingerprint: await files.inspect(file) })));
    const ops = planSync([...listed.values()], local, files.self);
    for (const op of ops) {
      switch (op.kind) {
        case 'remove':
          await removeQuietly(join(files.dir, op.file));
          files.logger.info({ file: op.file, why: op.why }, `removed a local ${files.what} copy the store does not list`);
          break;
        case 'list-self':
        case 'unlist-self':
          await files.setHolder(listed.get(op.id)!, op.kind === 'list-self');
          break;
      }
    }
    return { fetches: ops.filter((op) => op.kind === 'fetch' || op.kind === 'wait'), listed };
  });
  let pending = false;
  for (const op of fetches) {
    if (signal.aborted) return { pending: true };
    if (op.kind === 'wait' || !(await fetchFromPeers(files, listed.get(op.id)!, op.peers, signal))) pending = true;
  }
  return { pending };
}

/** Tries the peers in random order (spreading fetches over the holders) until one sends a verified copy. */
async function fetchFromPeers<E>(
  files: ReplicaFiles<E>,
  copy: Replicated<E>,
  peers: string[],
  signal: AbortSignal,
): Promise<boolean> {
  const about = { [files.what]: copy.id, file: copy.file };
  for (const peer of peerOrder(peers, files.self)) {
    const temp = tempPath(files.tmpDir, 'fetch');
    try {
      const response = await httpGet(files.peerUrl(copy, peer), signal);
      const digest = response.ok && response.body ? await files.receive(copy, response, temp) : undefined;
      if (digest === undefined) {
        await response.body?.cancel().catch(() => {});
        files.logger.warn({ ...about, peer, status: response.status }, `peer could not send this version of the ${files.what}`);
        continue;
      }
      if (digest !== copy.digest) {
        files.logger.warn({ ...about, peer }, `peer sent a ${files.what} whose checksum does not match the store's`);
        continue;
      }
      await files.lock.run(() => commitFetched(files, copy, temp));
      files.logger.info({ ...about, peer }, `${files.what} fetched from a peer`);
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      files.logger.warn({ ...about, peer, err: (error as Error).message }, `fetching a ${files.what} from a peer failed`);
    } finally {
      await removeQuietly(temp);
    }
  }
  return false;
}

async function commitFetched<E>(files: ReplicaFiles<E>, copy: Replicated<E>, temp: string): Promise<void> {
  const current = await files.current(copy.id);
  const verdict = decideFetched(copy, current, await files.inspect(copy.file));
  if (verdict === 'discard') return;
  if (verdict === 'place') {
    const final = join(files.dir, copy.file);
    await removeQuietly(final);
    await moveIntoPlace(temp, final, files.dir);
  }
  await files.setHolder(current!, true);
}
