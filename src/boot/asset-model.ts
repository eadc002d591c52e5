/**
 * Assets, pure: named files of any type (sabakan's /api/v1/assets), their
 * metadata in the Store and the upload headers that describe them.
 */
import { z } from 'zod';
import { jsonCodec } from '../store/codec.js';

export const ASSET_PREFIX = 'assets/';
/** The global ID counter: every upload takes the next ID, so a file name is never reused. */
export const ASSET_ID_KEY = 'assets';
export const assetKey = (name: string) => `${ASSET_PREFIX}${name}`;

export const SHA256_HEADER = 'x-sabakan-asset-sha256';
export const ID_HEADER = 'x-sabakan-asset-id';
export const OPTION_HEADER_PREFIX = 'x-sabakan-asset-options-';

export const assetMetaSchema = z.object({
  name: z.string(),
  id: z.number().int().positive(),
  'content-type': z.string(),
  /** Upload time (ISO 8601). */
  date: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  /** Advertise URLs of the servers that hold a copy. */
  urls: z.array(z.string()),
  options: z.record(z.string(), z.string()),
});
export type AssetMeta = z.infer<typeof assetMetaSchema>;

/** One asset's metadata, at assetKey(name). */
export const assetMetaCodec = jsonCodec('asset', assetMetaSchema);

/** The global ID counter at ASSET_ID_KEY: the last ID handed out (a bare JSON number). */
export const assetIdCodec = jsonCodec('asset ID counter', z.number().int().nonnegative());

/** Metadata as the API shows it: with whether this server holds a copy. */
export interface AssetInfo extends AssetMeta {
  exists: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$/;

export function assetNameProblem(name: string): string | undefined {
  return NAME.test(name)
    ? undefined
    : `asset name ${JSON.stringify(name)} must be 1–255 characters of [A-Za-z0-9._+-], starting with a letter or digit`;
}

export function sha256Problem(value: string): string | undefined {
  return /^[0-9a-fA-F]{64}$/.test(value) ? undefined : `${SHA256_HEADER} must be 64 hex digits`;
}

/** `X-Sabakan-Asset-Options-<K>: V` headers → `{ k: V }` (names lower-cased, as sabakan does). */
export function optionsFromHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const options: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith(OPTION_HEADER_PREFIX) || lower.length === OPTION_HEADER_PREFIX.length || value === undefined) continue;
    options[lower.slice(OPTION_HEADER_PREFIX.length)] = Array.isArray(value) ? value.join(', ') : value;
  }
  return options;
}

/** The metadata with `url` listed, or undefined when there is nothing to change. */
export function assetWithUrl(meta: AssetMeta, url: string, maxUrls: number): AssetMeta | undefined {
  if (meta.urls.includes(url) || meta.urls.length >= maxUrls) return undefined;
  return { ...meta, urls: [...meta.urls, url] };
}

/** The metadata without `url`, or undefined when it is not listed. */
export function assetWithoutUrl(meta: AssetMeta, url: string): AssetMeta | undefined {
  return meta.urls.includes(url) ? { ...meta, urls: meta.urls.filter((u) => u !== url) } : undefined;
}

/** The local file name of an asset: its ID, which is never reused. */
export function assetFileName(id: number): string {
  return String(id);
}

/** Local file names that are asset files (as opposed to the temp directory). */
export function assetIdOfFile(name: string): number | undefined {
  return /^[1-9]\d{0,15}$/.test(name) ? Number(name) : undefined;
}
