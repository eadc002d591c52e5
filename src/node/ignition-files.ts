/**
 * The files of a rendered Ignition v3 config (pure): what `yagura node join`
 * writes under the node's root directory. Only `storage.files` with `data:`
 * sources (RFC 2397), which is what the generated templates use; the rest of
 * a config (directories, links, units, users) is named in `ignored`, and a
 * file whose contents the node cannot have (a remote source, `append`) is an
 * error, so that nothing is half-applied.
 */

export interface ConfigFile {
  /** Absolute and normalized, e.g. /etc/bird/bird.conf. */
  path: string;
  mode: number;
  contents: Buffer;
}

export class IgnitionConfigError extends Error {
  override name = 'IgnitionConfigError';
}

const DEFAULT_MODE = 0o644;

export function filesOfIgnition(config: unknown): { files: ConfigFile[]; ignored: string[] } {
  if (!isObject(config)) throw new IgnitionConfigError('the Ignition config is not a JSON object');
  const version = isObject(config.ignition) ? config.ignition.version : undefined;
  if (typeof version !== 'string' || !/^3\.\d+\.\d+/.test(version))
    throw new IgnitionConfigError(`ignition.version ${JSON.stringify(version)} is not a v3 spec version (3.x.y)`);
  const ignored: string[] = [];
  const storage = isObject(config.storage) ? config.storage : {};
  for (const section of ['directories', 'links', 'disks', 'raid', 'filesystems', 'luks'])
    if (Array.isArray(storage[section]) && storage[section].length > 0) ignored.push(`storage.${section}`);
  if (isObject(config.systemd) && Array.isArray(config.systemd.units) && config.systemd.units.length > 0)
    ignored.push('systemd.units');
  if (isObject(config.passwd) && Object.values(config.passwd).some((list) => Array.isArray(list) && list.length > 0))
    ignored.push('passwd');
  if (Array.isArray(config.kernelArguments) || isObject(config.kernelArguments)) ignored.push('kernelArguments');

  const entries = storage.files === undefined ? [] : storage.files;
  if (!Array.isArray(entries)) throw new IgnitionConfigError('storage.files is not a list');
  const seen = new Set<string>();
  const files = entries.map((entry: unknown, i): ConfigFile => {
    const where = `storage.files[${i}]`;
    if (!isObject(entry)) throw new IgnitionConfigError(`${where} is not an object`);
    const path = safePath(entry.path, where);
    if (seen.has(path)) throw new IgnitionConfigError(`${where}: ${path} is given twice`);
    seen.add(path);
    if (Array.isArray(entry.append) && entry.append.length > 0)
      throw new IgnitionConfigError(`${where} (${path}): append is not supported by node join`);
    const mode = entry.mode === undefined || entry.mode === null ? DEFAULT_MODE : entry.mode;
    if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o7777)
      throw new IgnitionConfigError(`${where} (${path}): mode ${JSON.stringify(mode)} is not a file mode`);
    const source = isObject(entry.contents) ? entry.contents.source : undefined;
    // No contents: an empty file, as Ignition writes it.
    if (source === undefined || source === null) return { path, mode, contents: Buffer.alloc(0) };
    if (typeof source !== 'string') throw new IgnitionConfigError(`${where} (${path}): contents.source is not a string`);
    return { path, mode, contents: decodeDataUrl(source, `${where} (${path})`) };
  });
  return { files, ignored };
}

/** The bytes of a data: URL: `data:[<media type>][;base64],<data>`, percent-encoded unless base64. */
export function decodeDataUrl(url: string, where = 'the URL'): Buffer {
  if (!url.startsWith('data:'))
    throw new IgnitionConfigError(
      `${where}: the source ${JSON.stringify(url.slice(0, 60))} is not a data: URL; node join applies data: URLs only`,
    );
  const comma = url.indexOf(',');
  if (comma < 0) throw new IgnitionConfigError(`${where}: the data: URL has no comma before its data`);
  const meta = url.slice('data:'.length, comma);
  const data = url.slice(comma + 1);
  if (meta.split(';').includes('base64')) {
    const compact = percentDecode(data, where).toString('latin1').replace(/\s/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1)
      throw new IgnitionConfigError(`${where}: the data: URL's base64 data is not valid base64`);
    return Buffer.from(compact, 'base64');
  }
  return percentDecode(data, where);
}

/** %XX becomes that byte; anything else is kept as its UTF-8 bytes. */
function percentDecode(text: string, where: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex))
        throw new IgnitionConfigError(`${where}: the data: URL has a bad escape ${JSON.stringify(text.slice(i, i + 3))}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      const codePoint = text.codePointAt(i)!;
      const char = String.fromCodePoint(codePoint);
      bytes.push(...Buffer.from(char, 'utf8'));
      i += char.length - 1;
    }
  }
  return Buffer.from(bytes);
}

/** An absolute, normalized path that stays under the node's root: no "..", ".", or empty parts. */
function safePath(path: unknown, where: string): string {
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new IgnitionConfigError(`${where}: path ${JSON.stringify(path)} is not an absolute path`);
  const parts = path.split('/').slice(1);
  if (parts.some((part) => part === '' || part === '.' || part === '..') || path.includes('\0'))
    throw new IgnitionConfigError(`${where}: path ${JSON.stringify(path)} is not a normalized path (no "..", "." or "//")`);
  return path;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
