/**
 * OS images, pure: what an image is (a kernel and an initrd under an ID), the
 * shared index every server reads from the Store, and the rules that change
 * it — keep the newest N, remember recently deleted IDs and refuse them, make
 * re-uploads of the same content idempotent.
 */
import { z } from 'zod';
import { jsonCodec } from '../store/codec.js';

/** The one OS sabakan serves; the index key and URLs carry it. */
export const IMAGE_OS = 'coreos';
export const IMAGE_INDEX_KEY = `images/${IMAGE_OS}`;
/** The members of an image's tar, in the order they are written. */
export const IMAGE_FILES = ['kernel', 'initrd.gz'] as const;
export type ImageFile = (typeof IMAGE_FILES)[number];

export const DEFAULT_KEEP_IMAGES = 5;
/** How many deleted IDs are remembered (and refused for new uploads). */
export const MAX_DELETED_IDS = 10;
/** How many servers an entry lists as holding a copy (sabakan's limit). */
export const MAX_URLS = 10;

const SHA256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
const sha256Schema = z.object({ kernel: SHA256, 'initrd.gz': SHA256 });

export const imageEntrySchema = z.object({
  id: z.string(),
  /** Upload time (ISO 8601). */
  date: z.string(),
  /** Bytes of kernel and initrd together. */
  size: z.number().int().nonnegative(),
  sha256: sha256Schema,
  /** Advertise URLs of the servers that hold a copy. */
  urls: z.array(z.string()),
});
export type ImageEntry = z.infer<typeof imageEntrySchema>;

/** The index every server shares; absent lists read as empty (as older writers left them). */
export const imageIndexSchema = z.object({
  /** Oldest first: the order of upload. */
  images: z.array(imageEntrySchema).default([]),
  /** Most recent last. */
  deleted: z.array(z.string()).default([]),
});
export type ImageIndex = z.output<typeof imageIndexSchema>;

/** The index document at IMAGE_INDEX_KEY. */
export const imageIndexCodec = jsonCodec('image index', imageIndexSchema);

/** The index before the first upload (no key yet). */
export const EMPTY_IMAGE_INDEX: ImageIndex = { images: [], deleted: [] };

export interface ImageContent {
  size: number;
  sha256: Record<ImageFile, string>;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function imageIdProblem(id: string): string | undefined {
  return ID.test(id)
    ? undefined
    : `image ID ${JSON.stringify(id)} must be 1–128 characters of [A-Za-z0-9._-], starting with a letter or digit`;
}

export type MemberVerdict = { kind: 'file'; file: ImageFile } | { kind: 'ignore' } | { kind: 'refuse'; reason: string };

/**
 * What to do with a tar member: exactly `kernel` and `initrd.gz` are taken
 * (also as `./kernel`, as `tar -C dir .` writes them, with the `./` directory
 * entry ignored); everything else is refused.
 */
export function imageMember(name: string, type: string): MemberVerdict {
  if (type === 'directory' && (name === '.' || name === './')) return { kind: 'ignore' };
  const plain = name.startsWith('./') ? name.slice(2) : name;
  if (name.startsWith('/') || plain.split('/').includes('..'))
    return { kind: 'refuse', reason: `member ${JSON.stringify(name)} points outside the image (absolute path or ..)` };
  const file = IMAGE_FILES.find((f) => f === plain);
  if (!file)
    return {
      kind: 'refuse',
      reason: `member ${JSON.stringify(name)} is not part of an image: the tar must hold exactly kernel and initrd.gz`,
    };
  if (type !== 'file') return { kind: 'refuse', reason: `member ${JSON.stringify(name)} is a ${type}, not a regular file` };
  return { kind: 'file', file };
}

export type UploadPlan =
  | { kind: 'deleted' }
  | { kind: 'conflict'; entry: ImageEntry }
  | { kind: 'same'; entry: ImageEntry }
  | { kind: 'add'; index: ImageIndex; entry: ImageEntry; pruned: ImageEntry[] };

/** What an upload of `content` under `id` does to the index; `url` is the uploading server's. */
export function planUpload(
  index: ImageIndex,
  id: string,
  content: ImageContent,
  keep: number,
  date: Date,
  url: string,
): UploadPlan {
  if (index.deleted.includes(id)) return { kind: 'deleted' };
  const existing = index.images.find((e) => e.id === id);
  if (existing)
    return sameContent(existing.sha256, content.sha256)
      ? { kind: 'same', entry: existing }
      : { kind: 'conflict', entry: existing };
  const entry: ImageEntry = { id, date: date.toISOString(), size: content.size, sha256: content.sha256, urls: [url] };
  const images = [...index.images, entry];
  const pruned = images.splice(0, Math.max(0, images.length - keep));
  return {
    kind: 'add',
    entry,
    pruned,
    index: {
      images,
      deleted: remember(
        index.deleted,
        pruned.map((e) => e.id),
      ),
    },
  };
}

/** The index without image `id` (which joins the deleted IDs), or undefined when it has no such image. */
export function withoutImage(index: ImageIndex, id: string): ImageIndex | undefined {
  if (!index.images.some((e) => e.id === id)) return undefined;
  return { images: index.images.filter((e) => e.id !== id), deleted: remember(index.deleted, [id]) };
}

/** The index with `url` listed for image `id`, or undefined when there is nothing to change. */
export function withUrl(index: ImageIndex, id: string, url: string): ImageIndex | undefined {
  const entry = index.images.find((e) => e.id === id);
  if (!entry || entry.urls.includes(url) || entry.urls.length >= MAX_URLS) return undefined;
  return { ...index, images: index.images.map((e) => (e.id === id ? { ...e, urls: [...e.urls, url] } : e)) };
}

/** The index without `url` for image `id`, or undefined when it is not listed. */
export function withoutUrl(index: ImageIndex, id: string, url: string): ImageIndex | undefined {
  const entry = index.images.find((e) => e.id === id);
  if (!entry?.urls.includes(url)) return undefined;
  return { ...index, images: index.images.map((e) => (e.id === id ? { ...e, urls: e.urls.filter((u) => u !== url) } : e)) };
}

export function sameContent(a: Record<ImageFile, string>, b: Record<ImageFile, string>): boolean {
  return IMAGE_FILES.every((f) => a[f] === b[f]);
}

/**
 * The checksum file kept next to an image's files, in sha256sum(1) format: it
 * ties the local copy to an index entry (an ID can come back with new content
 * once it has dropped off the deleted list) and lets operators run sha256sum -c.
 */
export function sha256sums(sha256: Record<ImageFile, string>): string {
  return IMAGE_FILES.map((f) => `${sha256[f]}  ${f}\n`).join('');
}

export function parseSha256sums(text: string): Record<ImageFile, string> | undefined {
  const found = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (match) found.set(match[2]!, match[1]!);
  }
  const [kernel, initrd] = IMAGE_FILES.map((f) => found.get(f));
  return kernel && initrd ? { kernel, 'initrd.gz': initrd } : undefined;
}

function remember(deleted: string[], ids: string[]): string[] {
  return [...deleted.filter((d) => !ids.includes(d)), ...ids].slice(-MAX_DELETED_IDS);
}
