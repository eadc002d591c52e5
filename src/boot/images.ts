/**
 * OS images on this server: the shared index in the Store (see image-model)
 * and this server's copies on its own disk, under
 * <dataDir>/images/coreos/<id>/{kernel,initrd.gz,SHA256SUMS}.
 *
 * An upload streams the tar into a temp directory beside the images, checks
 * and fsyncs it, renames it into place and only then writes the index entry
 * (with its audit record) by CAS; whatever fails on the way is removed again.
 * A crash between the rename and the index write leaves a directory no entry
 * names, which the next sync removes. Servers that lack an image fetch it from
 * a peer listed in the entry's `urls` (sync, driven by the Replicator).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { type Actor, auditOp } from '../inventory/audit.js';
import { conflict, DomainError, invalid, notFound } from '../lib/errors.js';
import { readDocument, transact, type Transaction } from '../store/document.js';
import type { Store, TxnOp } from '../store/interface.js';
import {
  DEFAULT_KEEP_IMAGES,
  EMPTY_IMAGE_INDEX,
  IMAGE_INDEX_KEY,
  IMAGE_OS,
  type ImageContent,
  type ImageEntry,
  type ImageFile,
  type ImageIndex,
  imageIdProblem,
  imageIndexCodec,
  parseSha256sums,
  planUpload,
  sameContent,
  sha256sums,
  withoutImage,
  withoutUrl,
  withUrl,
} from './image-model.js';
import { extractImageTar, imageTarStream } from './image-tar.js';
import { emptyDir, fsyncDir, HashedFile, moveIntoPlace, removeQuietly, tempPath, tooLarge } from './local-files.js';
import { Mutex } from './mutex.js';
import { type ReplicaFiles, type Replicated, syncReplica } from './replica-sync.js';
import type { Replica, SyncResult } from './replication.js';

export const DEFAULT_MAX_IMAGE_BYTES = 4 * 1024 ** 3;
const SUMS = 'SHA256SUMS';

export interface ImageStoreOptions {
  store: Store;
  /** This server's data directory; images live under <dataDir>/images. */
  dataDir: string;
  /** How peers reach this server (e.g. http://10.0.0.1:10080): listed in `urls` of every image it holds. */
  advertiseUrl: string;
  /** Keep the newest this many images (default 5); an upload beyond that deletes the oldest. */
  keep?: number;
  /** Largest image tar accepted, in bytes (default 4 GiB). */
  maxBytes?: number;
  logger?: Logger;
  now?: () => Date;
}

/** An index entry as the API lists it: with whether this server holds a copy. */
export interface ImageListing extends ImageEntry {
  exists: boolean;
}

/** A file of an image on this server's disk. */
export interface LocalImageFile {
  path: string;
  sha256: string;
}

export class ImageRepository implements Replica {
  readonly watchPrefix = IMAGE_INDEX_KEY;
  readonly name = 'images';
  readonly maxBytes: number;
  private readonly store: Store;
  private readonly url: string;
  private readonly keep: number;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly host = hostname();
  private readonly imagesDir: string;
  private readonly tmpDir: string;
  private readonly lock = new Mutex();

  private constructor(options: ImageStoreOptions) {
    this.store = options.store;
    this.url = options.advertiseUrl.replace(/\/+$/, '');
    this.keep = options.keep ?? DEFAULT_KEEP_IMAGES;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.now = options.now ?? (() => new Date());
    this.imagesDir = join(options.dataDir, 'images', IMAGE_OS);
    this.tmpDir = join(options.dataDir, 'images', '.tmp');
    if (!Number.isInteger(this.keep) || this.keep < 1) throw new RangeError(`keep must be a positive integer, not ${this.keep}`);
  }

  /** Prepares the directories and removes temp files a crashed process left behind. */
  static async open(options: ImageStoreOptions): Promise<ImageRepository> {
    const images = new ImageRepository(options);
    await mkdir(images.imagesDir, { recursive: true });
    await emptyDir(images.tmpDir);
    return images;
  }

  async list(): Promise<ImageListing[]> {
    const index = await this.readIndex();
    return Promise.all(index.images.map(async (entry) => ({ ...entry, exists: await this.hasLocal(entry) })));
  }

  /**
   * Stores the image tar streamed in `body` under `id`: 201 for a new image,
   * 200 when the same content is already there; 409 for an ID with other
   * content or one recently deleted.
   */
  async upload(
    id: string,
    body: AsyncIterable<Uint8Array>,
    actor: Actor,
    declaredBytes?: number,
  ): Promise<{ status: 200 | 201; id: string }> {
    const problem = imageIdProblem(id);
    if (problem) throw invalid(problem, 'id');
    if (declaredBytes !== undefined && declaredBytes > this.maxBytes) throw tooLarge(this.maxBytes);
    if ((await this.readIndex()).deleted.includes(id)) throw deletedConflict(id);
    const temp = tempPath(this.tmpDir, 'upload');
    await mkdir(temp);
    try {
      const content = await extractImageTar(body, temp, this.maxBytes);
      await writeSums(temp, content);
      return await this.lock.run(() => this.commitUpload(id, temp, content, actor));
    } finally {
      await removeQuietly(temp);
    }
  }

  /** Deletes image `id` from the index (its ID joins the deleted list) and from this server's disk. */
  async remove(id: string, actor: Actor): Promise<void> {
    await this.lock.run(async () => {
      await transact(this.store, async (tx) => {
        const index = await indexIn(tx);
        const entry = index.images.find((e) => e.id === id);
        const next = withoutImage(index, id);
        if (!entry || !next) throw notFound(`image ${id}`);
        tx.put(IMAGE_INDEX_KEY, imageIndexCodec, next);
        tx.add(this.audit(actor, 'delete', id, { size: entry.size, sha256: entry.sha256 }));
      });
      await removeQuietly(this.imageDir(id));
      this.logger.info({ image: id }, 'image deleted');
    });
  }

  /** One file of an image this server holds; 404 when the index lacks it or this server has no copy yet. */
  async file(id: string, file: ImageFile): Promise<LocalImageFile> {
    const entry = await this.localEntry(id);
    return { path: join(this.imageDir(id), file), sha256: entry.sha256[file] };
  }

  /** The image as a tar (what peers fetch); 404 as for file(). */
  async tar(id: string): Promise<{ size: number; stream: Readable }> {
    const entry = await this.localEntry(id);
    const tar = await imageTarStream(this.imageDir(id), new Date(entry.date));
    if (!tar) throw notHere(id);
    return tar;
  }

  /** The ID of the newest image in the index that this server holds, for the boot script. */
  async newestLocalImage(): Promise<string | undefined> {
    const index = await this.readIndex();
    for (const entry of [...index.images].reverse()) if (await this.hasLocal(entry)) return entry.id;
    return undefined;
  }

  /**
   * Makes this server's disk match the index: removes images no entry names,
   * fetches missing ones from peers, and keeps this server's URL listed exactly
   * where it holds a copy. `pending` when something could not be fetched yet.
   */
  async sync(signal: AbortSignal): Promise<SyncResult> {
    return syncReplica(this.replicaFiles(), signal);
  }

  // ---- internals ----

  private imageDir(id: string): string {
    return join(this.imagesDir, id);
  }

  private async commitUpload(
    id: string,
    temp: string,
    content: ImageContent,
    actor: Actor,
  ): Promise<{ status: 200 | 201; id: string }> {
    const final = this.imageDir(id);
    let placed = false;
    const place = async () => {
      if (placed) return;
      await removeQuietly(final);
      await moveIntoPlace(temp, final, this.imagesDir);
      placed = true;
    };
    try {
      const result = await transact(this.store, async (tx) => {
        const index = await indexIn(tx);
        const plan = planUpload(index, id, content, this.keep, this.now(), this.url);
        switch (plan.kind) {
          case 'deleted':
            throw deletedConflict(id);
          case 'conflict':
            throw conflict(`image ${id} already exists with different content: upload it under a new ID`, 'id');
          case 'same': {
            if (!(await this.hasLocal(plan.entry))) await place();
            const next = withUrl(index, id, this.url);
            if (next) tx.put(IMAGE_INDEX_KEY, imageIndexCodec, next);
            return { status: 200 as const, pruned: [] };
          }
          case 'add': {
            await place();
            tx.put(IMAGE_INDEX_KEY, imageIndexCodec, plan.index);
            tx.add(
              this.audit(actor, 'upload', id, {
                size: content.size,
                sha256: content.sha256,
                pruned: plan.pruned.map((p) => p.id),
              }),
              ...plan.pruned.map((p) => this.audit(actor, 'prune', p.id, { size: p.size, sha256: p.sha256, newer: id })),
            );
            return { status: 201 as const, pruned: plan.pruned };
          }
        }
      });
      for (const pruned of result.pruned) await removeQuietly(this.imageDir(pruned.id));
      if (result.status === 201)
        this.logger.info({ image: id, size: content.size, pruned: result.pruned.map((p) => p.id) }, 'image uploaded');
      return { status: result.status, id };
    } catch (error) {
      if (placed) await this.dropUnlisted(id, content);
      throw error;
    }
  }

  /** After a failed commit: removes the placed copy unless the index lists it after all (a write that did land). */
  private async dropUnlisted(id: string, content: ImageContent): Promise<void> {
    try {
      const entry = (await this.readIndex()).images.find((e) => e.id === id);
      if (entry && sameContent(entry.sha256, content.sha256)) return;
      await removeQuietly(this.imageDir(id));
    } catch {
      // The store is unreachable: the next sync removes the copy if no entry names it.
    }
  }

  /** The entry of an image this server holds; 404 otherwise. */
  private async localEntry(id: string): Promise<ImageEntry> {
    const entry = (await this.readIndex()).images.find((e) => e.id === id);
    if (!entry) throw notFound(`image ${id}`);
    if (!(await this.hasLocal(entry))) throw notHere(id);
    return entry;
  }

  /** Whether this server's copy of `entry` is complete and is that content (the checksum file is written last). */
  private async hasLocal(entry: ImageEntry): Promise<boolean> {
    return (await this.localSums(entry.id)) === sha256sums(entry.sha256);
  }

  /** The checksums of this server's copy of image `id` (normalized SHA256SUMS), if it is complete. */
  private async localSums(id: string): Promise<string | undefined> {
    try {
      const sums = parseSha256sums(await readFile(join(this.imageDir(id), SUMS), 'utf8'));
      return sums && sha256sums(sums);
    } catch {
      return undefined;
    }
  }

  /** How replica-sync sees images: one directory per ID, fingerprinted by its checksums, fetched as a tar. */
  private replicaFiles(): ReplicaFiles<ImageEntry> {
    return {
      what: 'image',
      self: this.url,
      dir: this.imagesDir,
      tmpDir: this.tmpDir,
      lock: this.lock,
      logger: this.logger,
      listed: async () => (await this.readIndex()).images.map(replicated),
      current: async (id) => {
        const entry = (await this.readIndex()).images.find((e) => e.id === id);
        return entry && replicated(entry);
      },
      inspect: (file) => this.localSums(file),
      peerUrl: (copy, peer) => `${peer}/api/v1/images/${IMAGE_OS}/${encodeURIComponent(copy.id)}`,
      receive: async (_copy, response, temp) => {
        await mkdir(temp);
        const content = await extractImageTar(response.body!, temp, this.maxBytes);
        await writeSums(temp, content);
        return sha256sums(content.sha256);
      },
      setHolder: (copy, holds) =>
        this.updateIndex((index) => {
          const entry = index.images.find((e) => e.id === copy.id);
          if (!entry || !sameContent(entry.sha256, copy.entry.sha256)) return undefined;
          return holds ? withUrl(index, copy.id, this.url) : withoutUrl(index, copy.id, this.url);
        }),
    };
  }

  private async readIndex(): Promise<ImageIndex> {
    return (await readDocument(this.store, IMAGE_INDEX_KEY, imageIndexCodec))?.value ?? EMPTY_IMAGE_INDEX;
  }

  /** Read-modify-write of the index without an audit record (bookkeeping of who holds what). */
  private async updateIndex(change: (index: ImageIndex) => ImageIndex | undefined): Promise<void> {
    await transact(this.store, async (tx) => {
      const next = change(await indexIn(tx));
      if (next) tx.put(IMAGE_INDEX_KEY, imageIndexCodec, next);
    });
  }

  private audit(actor: Actor, action: string, id: string, detail: unknown): TxnOp {
    return auditOp({ category: 'images', instance: id, action, detail: JSON.stringify(detail) }, actor, this.host, this.now());
  }
}

/** The index as read in `tx` (compared unchanged when it commits). */
async function indexIn(tx: Transaction): Promise<ImageIndex> {
  return (await tx.get(IMAGE_INDEX_KEY, imageIndexCodec)) ?? EMPTY_IMAGE_INDEX;
}

/** An index entry as replica-sync sees it. */
function replicated(entry: ImageEntry): Replicated<ImageEntry> {
  const sums = sha256sums(entry.sha256);
  return { id: entry.id, file: entry.id, fingerprint: sums, digest: sums, holders: entry.urls, entry };
}

async function writeSums(dir: string, content: ImageContent): Promise<void> {
  const file = await HashedFile.create(join(dir, SUMS));
  await file.write(Buffer.from(sha256sums(content.sha256)));
  await file.finish();
  await fsyncDir(dir);
}

function deletedConflict(id: string): DomainError {
  return conflict(`image ID ${id} was deleted recently and cannot be reused: upload under a new ID`, 'id');
}

function notHere(id: string): DomainError {
  return new DomainError('not-found', `image ${id} is not on this server yet (it is being fetched from a peer)`);
}
