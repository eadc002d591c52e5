/**
 * A generated directory written whole: the files go to a temp dir next to
 * DIR and are renamed into place, so DIR holds either the old files or all of
 * the new ones. A DIR that this mechanism did not write (no marker file) is
 * refused unless forced; one that already holds exactly these files is left
 * alone. Used by `yagura dc generate` and `yagura dctest`.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from './errors.js';

/** Marks a directory as generated, so that generating again may replace it. */
export const GENERATED_MARKER = '.yagura-generated';

export interface FileToWrite {
  /** Relative to the directory. */
  path: string;
  content: string;
  mode: number;
}

/** Writes `files` (the marker among them) as the whole content of `dir`. */
export async function writeGeneratedDir(dir: string, files: FileToWrite[], force: boolean): Promise<'written' | 'unchanged'> {
  const existing = await listing(dir);
  if (existing !== undefined && existing.length > 0) {
    if (!existing.includes(GENERATED_MARKER) && !force)
      throw new UserError(
        `${dir} is not empty and was not written by dc generate: choose another -o, or give --force to replace it`,
      );
    if (existing.includes(GENERATED_MARKER) && (await holdsExactly(dir, files))) return 'unchanged';
  }
  const suffix = randomBytes(4).toString('hex');
  const staging = join(dirname(dir), `.${basename(dir)}.tmp-${suffix}`);
  const old = join(dirname(dir), `.${basename(dir)}.old-${suffix}`);
  try {
    for (const file of files) {
      const path = join(staging, file.path);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, file.content);
      await chmod(path, file.mode);
    }
    if (existing !== undefined) await rename(dir, old);
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  await rm(old, { recursive: true, force: true });
  return 'written';
}

/** The entries of a directory, or undefined when it does not exist. */
async function listing(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw new UserError(`${dir} is a file, not a directory`);
    throw error;
  }
}

/** Whether the directory has exactly these files (and nothing else), byte for byte. */
async function holdsExactly(dir: string, files: FileToWrite[]): Promise<boolean> {
  const present = await readdir(dir, { recursive: true, withFileTypes: true });
  const paths = present.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  if (paths.length !== files.length) return false;
  for (const file of files) {
    try {
      if ((await readFile(join(dir, file.path), 'utf8')) !== file.content) return false;
    } catch {
      return false;
    }
  }
  return true;
}
