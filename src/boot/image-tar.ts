/**
 * An image on the wire is a tar of exactly `kernel` and `initrd.gz` (what
 * sabactl uploads and what peers fetch from each other). This module streams
 * such a tar into a directory, checking it as it goes, and streams a local
 * image back out as one.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type DomainError, invalid } from '../lib/errors.js';
import { type ImageContent, type ImageFile, IMAGE_FILES, imageMember } from './image-model.js';
import { HashedFile, tooLarge, uploadChunks } from './local-files.js';
import { TAR_END, tarHeader, tarPadding, TarFormatError, TarReader, tarSize } from './tar.js';

/**
 * Extracts an image tar from `body` into the existing, empty directory `dir`,
 * every file fsynced. Throws a 400 for a tar that is malformed, truncated or
 * holds anything but the two files, and a 413 past `limit` bytes; the caller
 * removes `dir` on failure.
 */
export async function extractImageTar(body: AsyncIterable<Uint8Array>, dir: string, limit: number): Promise<ImageContent> {
  const reader = new TarReader();
  const digests = new Map<ImageFile, { size: number; sha256: string }>();
  let current: { file: ImageFile; out: HashedFile } | undefined;
  let received = 0;
  let declared = 0;
  try {
    for await (const chunk of uploadChunks(body)) {
      received += chunk.byteLength;
      if (received > limit) throw tooLarge(limit);
      for (const event of reader.push(chunk)) {
        switch (event.kind) {
          case 'entry': {
            const verdict = imageMember(event.entry.name, event.entry.type);
            if (verdict.kind === 'refuse') throw invalidTar(verdict.reason);
            if (verdict.kind === 'ignore') break;
            if (digests.has(verdict.file) || current?.file === verdict.file)
              throw invalidTar(`member ${verdict.file} appears twice`);
            declared += event.entry.size;
            if (declared > limit) throw tooLarge(limit);
            current = { file: verdict.file, out: await HashedFile.create(join(dir, verdict.file)) };
            break;
          }
          case 'data':
            await current?.out.write(event.data);
            break;
          case 'entry-end':
            if (current) {
              const done = current;
              current = undefined;
              digests.set(done.file, await done.out.finish());
            }
            break;
          case 'end':
            break;
        }
      }
    }
    reader.finish();
  } catch (error) {
    await current?.out.abort();
    if (error instanceof TarFormatError) throw invalidTar(error.message);
    throw error;
  }
  const missing = IMAGE_FILES.filter((f) => !digests.has(f));
  if (missing.length > 0) throw invalidTar(`the tar lacks ${missing.join(' and ')}: it must hold exactly kernel and initrd.gz`);
  const kernel = digests.get('kernel')!;
  const initrd = digests.get('initrd.gz')!;
  return { size: kernel.size + initrd.size, sha256: { kernel: kernel.sha256, 'initrd.gz': initrd.sha256 } };
}

/**
 * A local image as a tar stream with its exact length, or undefined when the
 * files are gone. The files are opened up front, so a deletion that races the
 * download does not cut it short.
 */
export async function imageTarStream(dir: string, mtime: Date): Promise<{ size: number; stream: Readable } | undefined> {
  const handles: FileHandle[] = [];
  try {
    for (const file of IMAGE_FILES) handles.push(await open(join(dir, file), 'r'));
  } catch (error) {
    await Promise.all(handles.map((h) => h.close().catch(() => {})));
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const sizes = await Promise.all(handles.map(async (h) => (await h.stat()).size));
  const seconds = Math.floor(mtime.getTime() / 1000);
  async function* archive(): AsyncGenerator<Buffer> {
    for (const [i, file] of IMAGE_FILES.entries()) {
      yield tarHeader({ name: file, size: sizes[i]!, mtime: seconds });
      for await (const chunk of handles[i]!.createReadStream({ autoClose: false, start: 0 })) yield chunk as Buffer;
      yield tarPadding(sizes[i]!);
    }
    yield TAR_END;
  }
  const stream = Readable.from(archive());
  // On 'close', not in the generator: a stream destroyed before its first read never runs the generator's finally.
  stream.once('close', () => void Promise.all(handles.map((h) => h.close().catch(() => {}))));
  return { size: tarSize(sizes), stream };
}

function invalidTar(reason: string): DomainError {
  return invalid(`invalid image tar: ${reason}`, 'body');
}
