/**
 * This server's copies of images and assets on local disk, written so that a
 * crash or a failed upload never leaves a partial file where a complete one
 * is expected: data goes to a temp path in the same file system, is hashed as
 * it streams, fsynced, and only then renamed into place (and the directory
 * fsynced, so the rename itself survives a power cut).
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError } from '../lib/errors.js';

export interface FileDigest {
  size: number;
  sha256: string;
}

/** A file being written: counts and hashes what goes in; `finish` makes it durable. */
export class HashedFile {
  private readonly hash: Hash = createHash('sha256');
  private size = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Creates `path`, which must not exist yet. */
  static async create(path: string): Promise<HashedFile> {
    return new HashedFile(path, await open(path, 'wx', 0o644));
  }

  async write(data: Uint8Array): Promise<void> {
    this.hash.update(data);
    this.size += data.byteLength;
    let written = 0;
    while (written < data.byteLength) written += (await this.handle.write(data, written, data.byteLength - written)).bytesWritten;
  }

  get bytes(): number {
    return this.size;
  }

  async finish(): Promise<FileDigest> {
    try {
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
    return { size: this.size, sha256: this.hash.digest('hex') };
  }

  /** Closes without caring whether it worked; the caller removes the file. */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => {});
  }
}

/**
 * Streams `body` into a new file at `path` (at most `limit` bytes), fsynced.
 * On any failure the file is removed and the error rethrown.
 */
export async function receiveFile(body: AsyncIterable<Uint8Array>, path: string, limit: number): Promise<FileDigest> {
  const file = await HashedFile.create(path);
  try {
    for await (const chunk of uploadChunks(body)) {
      if (file.bytes + chunk.byteLength > limit) throw tooLarge(limit);
      await file.write(chunk);
    }
    return await file.finish();
  } catch (error) {
    await file.abort();
    await removeQuietly(path);
    throw error;
  }
}

/** The chunks of an upload body, with a client that went away reported as the caller's fault (400), not ours. */
export async function* uploadChunks(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (error as Error).message === 'aborted')
      throw new DomainError('invalid', 'the upload was interrupted before the whole body arrived', 'body');
    throw error;
  }
}

export function tooLarge(limit: number): DomainError {
  return new DomainError('too-large', `the upload is larger than this server's limit of ${limit} bytes`, 'body');
}

/** A fresh, unused path under `dir` for temporary data. */
export function tempPath(dir: string, label: string): string {
  return join(dir, `${label}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/** Renames `from` to `to` (same file system) and fsyncs the directory that now holds it. */
export async function moveIntoPlace(from: string, to: string, toDir: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(toDir);
}

export async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => {});
}

/** Creates `dir` if needed and removes everything in it (leftovers of a crashed process). */
export async function emptyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all((await readdir(dir)).map((name) => removeQuietly(join(dir, name))));
}

/** The names in `dir`, or none when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
