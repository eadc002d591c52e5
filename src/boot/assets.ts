/**
 * Assets on this server: metadata in the Store under assets/<name> (see
 * asset-model), files on this server's disk as <dataDir>/assets/<id>.
 *
 * Every upload gets a new ID from a global counter, so a file name is never
 * reused: the body streams to a temp file (hashed, checked against the
 * client's X-Sabakan-Asset-SHA256, fsynced), is renamed to its ID, and then
 * the metadata switches to it by CAS, with the audit record; the old file is
 * removed only after that. A crash in between leaves a file no metadata
 * names, which the next sync removes. Servers without a copy fetch it from a
 * peer listed in `urls` (sync, driven by the Replicator).
 */
import { mkdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { type Actor, auditOp } from '../inventory/audit.js';
import { DomainError, invalid, notFound } from '../lib/errors.js';
import { readDocument, readDocuments, transact } from '../store/document.js';
import type { Store } from '../store/interface.js';
import {
  ASSET_ID_KEY,
  ASSET_PREFIX,
  assetIdCodec,
  type AssetInfo,
  type AssetMeta,
  assetMetaCodec,
  assetFileName,
  assetKey,
  assetNameProblem,
  assetWithoutUrl,
  assetWithUrl,
  ID_HEADER,
  SHA256_HEADER,
  sha256Problem,
} from './asset-model.js';
import { MAX_URLS } from './image-model.js';
import { emptyDir, moveIntoPlace, receiveFile, removeQuietly, tempPath, tooLarge } from './local-files.js';
import { Mutex } from './mutex.js';
import { type ReplicaFiles, type Replicated, syncReplica } from './replica-sync.js';
import { peerOrder, type Replica, type SyncResult } from './replication.js';

export const DEFAULT_MAX_ASSET_BYTES = 4 * 1024 ** 3;

export interface AssetStoreOptions {
  store: Store;
  /** This server's data directory; assets live under <dataDir>/assets. */
  dataDir: string;
  /** How peers reach this server (e.g. http://10.0.0.1:10080): listed in `urls` of every asset it holds. */
  advertiseUrl: string;
  /** Largest asset accepted, in bytes (default 4 GiB, as sabakan). */
  maxBytes?: number;
  logger?: Logger;
  now?: () => Date;
}

export interface AssetUpload {
  name: string;
  /** Required: stored and sent back on download. */
  contentType: string | undefined;
  /** The X-Sabakan-Asset-SHA256 header, when sent: the body must hash to it. */
  sha256?: string;
  options: Record<string, string>;
  /** The Content-Length, when sent: refused early when over the limit. */
  declaredBytes?: number;
  body: AsyncIterable<Uint8Array>;
}

/** Where a download comes from: this server's disk, or (without a local copy yet) a peer to redirect to. */
export type AssetLocation = { kind: 'local'; meta: AssetMeta; path: string } | { kind: 'peer'; meta: AssetMeta; url: string };

export class AssetRepository implements Replica {
  readonly watchPrefix = ASSET_PREFIX;
  readonly name = 'assets';
  readonly maxBytes: number;
  private readonly store: Store;
  private readonly url: string;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly host = hostname();
  private readonly dir: string;
  private readonly tmpDir: string;
  private readonly lock = new Mutex();

  private constructor(options: AssetStoreOptions) {
    this.store = options.store;
    this.url = options.advertiseUrl.replace(/\/+$/, '');
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_ASSET_BYTES;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.now = options.now ?? (() => new Date());
    this.dir = join(options.dataDir, 'assets');
    this.tmpDir = join(this.dir, '.tmp');
  }

  /** Prepares the directories and removes temp files a crashed process left behind. */
  static async open(options: AssetStoreOptions): Promise<AssetRepository> {
    const assets = new AssetRepository(options);
    await mkdir(assets.dir, { recursive: true });
    await emptyDir(assets.tmpDir);
    return assets;
  }

  /** Every asset's name, sorted. */
  async names(): Promise<string[]> {
    return (await this.allMetas()).map((m) => m.name);
  }

  async info(name: string): Promise<AssetInfo> {
    const meta = await this.meta(name);
    if (!meta) throw notFound(`asset ${name}`);
    return { ...meta, exists: await this.hasLocal(meta) };
  }

  /** Stores an asset under a new ID: 201 when the name is new, 200 when it replaces an older version. */
  async upload(upload: AssetUpload, actor: Actor): Promise<{ status: 200 | 201; id: number }> {
    const { name } = upload;
    const nameProblem = assetNameProblem(name);
    if (nameProblem) throw invalid(nameProblem, 'name');
    if (!upload.contentType)
      throw invalid('Content-Type is required: it is stored and sent back with every download', 'content-type');
    const shaProblem = upload.sha256 === undefined ? undefined : sha256Problem(upload.sha256);
    if (shaProblem) throw invalid(shaProblem, SHA256_HEADER);
    if (upload.declaredBytes !== undefined && upload.declaredBytes > this.maxBytes) throw tooLarge(this.maxBytes);
    const temp = tempPath(this.tmpDir, 'upload');
    try {
      const digest = await receiveFile(upload.body, temp, this.maxBytes);
      const expected = upload.sha256?.toLowerCase();
      if (expected && digest.sha256 !== expected)
        throw invalid(
          `the body's SHA-256 is ${digest.sha256}, not ${expected} as ${SHA256_HEADER} says: nothing was stored`,
          SHA256_HEADER,
        );
      const id = await this.allocateId();
      const meta: AssetMeta = {
        name,
        id,
        'content-type': upload.contentType,
        date: this.now().toISOString(),
        size: digest.size,
        sha256: digest.sha256,
        urls: [this.url],
        options: upload.options,
      };
      return await this.lock.run(() => this.commitUpload(meta, temp, actor));
    } finally {
      await removeQuietly(temp);
    }
  }

  async remove(name: string, actor: Actor): Promise<void> {
    await this.lock.run(async () => {
      const meta = await transact(this.store, async (tx) => {
        const meta = await tx.get(assetKey(name), assetMetaCodec);
        if (!meta) throw notFound(`asset ${name}`);
        tx.delete(assetKey(name));
        tx.add(this.audit(actor, 'delete', name, { id: meta.id, sha256: meta.sha256 }));
        return meta;
      });
      await removeQuietly(this.file(meta.id));
      this.logger.info({ asset: name, id: meta.id }, 'asset deleted');
    });
  }

  /** Where to serve an asset from; 404 when it does not exist or no server holds a copy. */
  async locate(name: string): Promise<AssetLocation> {
    const meta = await this.meta(name);
    if (!meta) throw notFound(`asset ${name}`);
    if (await this.hasLocal(meta)) return { kind: 'local', meta, path: this.file(meta.id) };
    const peer = peerOrder(meta.urls, this.url)[0];
    if (!peer) throw new DomainError('not-found', `asset ${name} is not on this server yet and no other server holds a copy`);
    return { kind: 'peer', meta, url: `${peer}/api/v1/assets/${encodeURIComponent(name)}` };
  }

  /**
   * Makes this server's disk match the metadata: removes files no asset
   * names, fetches missing ones from peers and keeps this server's URL listed
   * exactly where it holds a copy. `pending` when something could not be fetched yet.
   */
  async sync(signal: AbortSignal): Promise<SyncResult> {
    return syncReplica(this.replicaFiles(), signal);
  }

  // ---- internals ----

  private file(id: number): string {
    return join(this.dir, assetFileName(id));
  }

  private async commitUpload(meta: AssetMeta, temp: string, actor: Actor): Promise<{ status: 200 | 201; id: number }> {
    const final = this.file(meta.id);
    await moveIntoPlace(temp, final, this.dir);
    try {
      const previous = await transact(this.store, async (tx) => {
        const old = await tx.get(assetKey(meta.name), assetMetaCodec);
        tx.put(assetKey(meta.name), assetMetaCodec, meta);
        tx.add(
          this.audit(actor, 'upload', meta.name, {
            id: meta.id,
            size: meta.size,
            sha256: meta.sha256,
            'content-type': meta['content-type'],
          }),
        );
        return { old };
      });
      if (previous.old) await removeQuietly(this.file(previous.old.id));
      this.logger.info({ asset: meta.name, id: meta.id, size: meta.size }, 'asset uploaded');
      return { status: previous.old ? 200 : 201, id: meta.id };
    } catch (error) {
      // Keep the file only if the metadata switched to it after all (a write whose answer was lost).
      const current = await this.meta(meta.name).catch(() => meta);
      if (current?.id !== meta.id) await removeQuietly(final);
      throw error;
    }
  }

  private async hasLocal(meta: AssetMeta): Promise<boolean> {
    return (await this.localSize(assetFileName(meta.id))) === sizeFingerprint(meta.size);
  }

  /** The size of local asset file `file` (its fingerprint: files are written under a temp name, so a short one is damage). */
  private async localSize(file: string): Promise<string | undefined> {
    try {
      return sizeFingerprint((await stat(join(this.dir, file))).size);
    } catch {
      return undefined;
    }
  }

  /** How replica-sync sees assets: one file per ID, fingerprinted by its size, verified by its SHA-256. */
  private replicaFiles(): ReplicaFiles<AssetMeta> {
    return {
      what: 'asset',
      self: this.url,
      dir: this.dir,
      tmpDir: this.tmpDir,
      lock: this.lock,
      logger: this.logger,
      listed: async () => (await this.allMetas()).map(replicated),
      current: async (name) => {
        const meta = await this.meta(name);
        return meta && replicated(meta);
      },
      inspect: (file) => this.localSize(file),
      peerUrl: (copy, peer) => `${peer}/api/v1/assets/${encodeURIComponent(copy.id)}`,
      receive: async (copy, response, temp) => {
        // A peer may already serve a newer version under this name: only this ID will do.
        if (response.headers.get(ID_HEADER) !== String(copy.entry.id)) return undefined;
        return digestOf(await receiveFile(response.body!, temp, copy.entry.size));
      },
      setHolder: (copy, holds) =>
        this.updateMeta(copy.id, (m) =>
          m.id !== copy.entry.id ? undefined : holds ? assetWithUrl(m, this.url, MAX_URLS) : assetWithoutUrl(m, this.url),
        ),
    };
  }

  private async meta(name: string): Promise<AssetMeta | undefined> {
    return (await readDocument(this.store, assetKey(name), assetMetaCodec))?.value;
  }

  /** Every asset's metadata, in name order (one snapshot). */
  private async allMetas(): Promise<AssetMeta[]> {
    return (await readDocuments(this.store, ASSET_PREFIX, assetMetaCodec)).map((read) => read.value);
  }

  /** The next ID from the global counter (its own CAS: an ID that ends up unused is harmless). */
  private async allocateId(): Promise<number> {
    return transact(this.store, async (tx) => {
      const id = ((await tx.get(ASSET_ID_KEY, assetIdCodec)) ?? 0) + 1;
      tx.put(ASSET_ID_KEY, assetIdCodec, id);
      return id;
    });
  }

  /** Read-modify-write of one asset's metadata without an audit record (bookkeeping of who holds what). */
  private async updateMeta(name: string, change: (meta: AssetMeta) => AssetMeta | undefined): Promise<void> {
    await transact(this.store, async (tx) => {
      const current = await tx.get(assetKey(name), assetMetaCodec);
      const next = current && change(current);
      if (next) tx.put(assetKey(name), assetMetaCodec, next);
    });
  }

  private audit(actor: Actor, action: string, name: string, detail: unknown) {
    return auditOp({ category: 'assets', instance: name, action, detail: JSON.stringify(detail) }, actor, this.host, this.now());
  }
}

/** Asset metadata as replica-sync sees it. */
function replicated(meta: AssetMeta): Replicated<AssetMeta> {
  const file = assetFileName(meta.id);
  return {
    id: meta.name,
    file,
    fingerprint: sizeFingerprint(meta.size),
    digest: digestOf(meta),
    holders: meta.urls,
    entry: meta,
  };
}

function sizeFingerprint(size: number): string {
  return `${size} bytes`;
}

function digestOf(content: { sha256: string; size: number }): string {
  return `sha256:${content.sha256} ${content.size} bytes`;
}
