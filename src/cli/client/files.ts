/** Local files for uploads: opened once with their size fixed up front, then read whole or not at all. */
import { type FileHandle, open } from 'node:fs/promises';
import { UserError } from '../../lib/errors.js';

/** A local file opened for an upload: its size and mtime taken once, up front, so its length can be declared. */
export interface LocalFile {
  handle: FileHandle;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** How errors name it, e.g. "--kernel ./vmlinuz". */
  what: string;
}

export async function openLocalFile(path: string, what = path): Promise<LocalFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new UserError(`${what}: cannot read it (${(error as NodeJS.ErrnoException).code})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UserError(`${what}: not a regular file`);
    return { handle, size: stat.size, mtime: Math.floor(stat.mtimeMs / 1000), what };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/**
 * The file's bytes from the start, exactly the size declared at opening: a
 * file that shrinks or grows meanwhile is an error, never a silently different upload.
 */
export async function* readWhole(file: LocalFile): AsyncGenerator<Buffer> {
  let read = 0;
  let now: number;
  try {
    if (file.size > 0)
      for await (const chunk of file.handle.createReadStream({ start: 0, end: file.size - 1, autoClose: false })) {
        read += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    now = (await file.handle.stat()).size;
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${file.what}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (read !== file.size || now !== file.size)
    throw new UserError(`${file.what}: changed size while being read (${file.size} bytes, now ${now}): nothing was stored`);
}
