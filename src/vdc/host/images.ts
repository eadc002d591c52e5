/**
 * The topology's Images as local files that qemu-img can read:
 *
 *   const images = new ImageCache({ cacheDir, images: topology.images, onProgress });
 *   const path = await images.path('ubuntu');
 *
 * - `file` images are used in place; with `compression`, they are decompressed
 *   once into `<cache>/images/<sha256(path, size, mtime)>` (a changed file gets
 *   a new entry).
 * - `url` images are downloaded once into `<cache>/images/<sha256(url)>`
 *   (decompressed on the way), as placemat caches them.
 *
 * Every cache entry is written under a temporary name and renamed into place,
 * so an interrupted download never looks finished. Concurrent requests for one
 * image share one download.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { UserError } from '../../lib/errors.js';
import type { Image } from '../spec/index.js';

export interface ImageProgress {
  image: string;
  /** Bytes received so far (before decompression). */
  receivedBytes: number;
  /** From Content-Length, when the server sent one. */
  totalBytes?: number;
}

export interface ImageCacheOptions {
  /** The cache directory; entries go into its `images/` subdirectory. */
  cacheDir: string;
  images: readonly Image[];
  /** Called as downloads progress (at most every 256 KiB and at the end). */
  onProgress?: (progress: ImageProgress) => void;
}

/** Resolves image names to local files; what volumes.ts needs from it. */
export interface ImageSource {
  path(name: string): Promise<string>;
}

export class ImageCache implements ImageSource {
  private readonly images: Map<string, Image>;
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(private readonly options: ImageCacheOptions) {
    this.images = new Map(options.images.map((image) => [image.name, image]));
  }

  /** The local file of the named image, fetched or decompressed first when needed. */
  path(name: string): Promise<string> {
    let promise = this.inFlight.get(name);
    if (!promise) {
      promise = this.resolve(name);
      this.inFlight.set(name, promise);
      // Later calls retry a failure, and find a finished entry on disk again.
      void promise.then(
        () => this.inFlight.delete(name),
        () => this.inFlight.delete(name),
      );
    }
    return promise;
  }

  private async resolve(name: string): Promise<string> {
    const image = this.images.get(name);
    if (!image) throw new UserError(`unknown image "${name}"`);
    if (image.file !== undefined) {
      const info = await stat(image.file).catch(() => undefined);
      if (!info?.isFile()) throw new UserError(`image ${name}: the file ${image.file} does not exist (${where(image)})`);
      if (image.compression === undefined) return image.file;
      const key = `file\0${image.file}\0${info.size}\0${info.mtimeMs}`;
      return this.cached(key, image, () => createReadStream(image.file!));
    }
    // placemat's key for a download: the URL alone.
    return this.cached(image.url!, image, () => this.download(image)).catch((error: Error) => {
      if (error instanceof UserError) throw error;
      const cause = (error.cause as Error | undefined)?.message;
      throw new UserError(`image ${name}: downloading ${image.url!} failed: ${error.message}${cause ? ` (${cause})` : ''}`);
    });
  }

  /** The cache entry for `key`, made from `source` (decompressed per the image) when it is not there yet. */
  private async cached(key: string, image: Image, source: () => Promise<Readable> | Readable): Promise<string> {
    const directory = join(this.options.cacheDir, 'images');
    const target = join(directory, createHash('sha256').update(key).digest('hex'));
    if (await exists(target)) return target;
    await mkdir(directory, { recursive: true });
    const temporary = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const input = await source();
      await writeDecompressed(input, image, createWriteStream(temporary, { flags: 'wx' }));
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    return target;
  }

  private async download(image: Image): Promise<Readable> {
    const url = image.url!;
    let response: Response;
    try {
      response = await fetch(url, { redirect: 'follow' });
    } catch (error) {
      const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new UserError(`image ${image.name}: cannot download ${url}: ${cause}`);
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw new UserError(
        `image ${image.name}: downloading ${url} failed: HTTP ${response.status} ${response.statusText}`.trimEnd(),
      );
    }
    const length = Number(response.headers.get('content-length'));
    const totalBytes = Number.isFinite(length) && length > 0 ? length : undefined;
    const onProgress = this.options.onProgress;
    let receivedBytes = 0;
    let reported = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        receivedBytes += chunk.length;
        if (onProgress && receivedBytes - reported >= 256 * 1024) {
          reported = receivedBytes;
          onProgress({ image: image.name, receivedBytes, ...(totalBytes === undefined ? {} : { totalBytes }) });
        }
        callback(null, chunk);
      },
      flush(callback) {
        if (totalBytes !== undefined && receivedBytes !== totalBytes) {
          callback(new UserError(`image ${image.name}: ${url} ended after ${receivedBytes} of ${totalBytes} bytes`));
          return;
        }
        onProgress?.({ image: image.name, receivedBytes, ...(totalBytes === undefined ? {} : { totalBytes }) });
        callback();
      },
    });
    const body = Readable.fromWeb(response.body as Parameters<typeof Readable.fromWeb>[0]);
    // pipe() does not pass errors on: a connection lost halfway must fail the download.
    body.once('error', (error) => counter.destroy(error));
    return body.pipe(counter);
  }
}

async function writeDecompressed(input: Readable, image: Image, output: Writable): Promise<void> {
  const what = `image ${image.name}`;
  switch (image.compression) {
    case undefined:
      await pipeline(input, output);
      return;
    case 'gzip':
      await pipeline(input, createGunzip(), output).catch((error: Error) => {
        throw error instanceof UserError ? error : new UserError(`${what}: gzip decompression failed: ${error.message}`);
      });
      return;
    case 'bzip2':
      await bunzip2(input, output, what);
      return;
  }
}

/** Node has no bzip2: Debian's bzip2 does it. */
async function bunzip2(input: Readable, output: Writable, what: string): Promise<void> {
  const child = spawn('bzip2', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new UserError(
          error.code === 'ENOENT'
            ? `${what} is bzip2-compressed, but bzip2 is not installed: install the Debian package bzip2`
            : `${what}: cannot run bzip2: ${error.message}`,
        ),
      ),
    );
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new UserError(`${what}: bzip2 decompression failed: ${stderr.trim() || `exit ${code}`}`)),
    );
  });
  // Wait for all three; the first failure wins, and whichever stream is left is torn down with the process.
  const results = await Promise.allSettled([pipeline(input, child.stdin), pipeline(child.stdout, output), exited]);
  const exit = results[2];
  if (exit.status === 'rejected') throw exit.reason;
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function where(image: Image): string {
  return `Image ${image.name} at ${image.origin.file}:${image.origin.line}:${image.origin.column}`;
}
