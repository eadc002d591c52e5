/**
 * ustar archives, pure: a reader that takes an archive in chunks as they
 * arrive (so an upload streams to disk and is never held in memory) and turns
 * them into entry, data and end events; and the header blocks to write one.
 *
 * The reader understands POSIX ustar, GNU tar's variant of it, pax extended
 * headers (path and size) and GNU long names, verifies every header checksum,
 * and insists on the two zero blocks that end an archive, so a truncated
 * upload is always an error, never a shorter archive.
 */

export const BLOCK = 512;
/** The end-of-archive marker: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * BLOCK);
/** Pax and GNU long-name records larger than this are refused. */
const MAX_META_BYTES = 64 * 1024;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** The path as stored (ustar prefix, pax `path` or GNU long name applied). */
  name: string;
  type: TarEntryType;
  /** Bytes of data that follow (pax `size` applied). */
  size: number;
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
}

export type TarEvent =
  | { kind: 'entry'; entry: TarEntry }
  /** A piece of the current entry's data: a view into the pushed chunk, valid until the next push. */
  | { kind: 'data'; data: Buffer }
  | { kind: 'entry-end' }
  /** The end-of-archive marker was read; bytes after it are ignored. */
  | { kind: 'end' };

export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

type State =
  | { at: 'header' }
  | { at: 'data'; remaining: number; padding: number }
  | { at: 'meta'; kind: 'pax' | 'global' | 'longname' | 'skip'; remaining: number; padding: number; parts: Buffer[] }
  | { at: 'padding'; remaining: number }
  | { at: 'end' };

export class TarReader {
  private state: State = { at: 'header' };
  private readonly block = Buffer.alloc(BLOCK);
  private filled = 0;
  private zeroBlocks = 0;
  /** Overrides for the next entry, from a pax header or a GNU long name. */
  private next: { path?: string; size?: number } = {};
  private offset = 0;

  /** Feeds the next chunk of the archive; returns what it completed. Throws TarFormatError on a malformed archive. */
  push(chunk: Uint8Array): TarEvent[] {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const events: TarEvent[] = [];
    let pos = 0;
    while (pos < bytes.length) {
      const state = this.state;
      const available = bytes.length - pos;
      switch (state.at) {
        case 'header': {
          const n = Math.min(BLOCK - this.filled, available);
          bytes.copy(this.block, this.filled, pos, pos + n);
          this.filled += n;
          pos += n;
          if (this.filled === BLOCK) {
            this.filled = 0;
            this.onHeaderBlock(events);
            this.offset += BLOCK;
          }
          break;
        }
        case 'data': {
          const n = Math.min(state.remaining, available);
          events.push({ kind: 'data', data: bytes.subarray(pos, pos + n) });
          pos += n;
          this.offset += n;
          state.remaining -= n;
          if (state.remaining === 0) {
            events.push({ kind: 'entry-end' });
            this.state = state.padding > 0 ? { at: 'padding', remaining: state.padding } : { at: 'header' };
          }
          break;
        }
        case 'meta': {
          const n = Math.min(state.remaining, available);
          state.parts.push(Buffer.from(bytes.subarray(pos, pos + n)));
          pos += n;
          this.offset += n;
          state.remaining -= n;
          if (state.remaining === 0) {
            this.onMeta(state.kind, Buffer.concat(state.parts));
            this.state = state.padding > 0 ? { at: 'padding', remaining: state.padding } : { at: 'header' };
          }
          break;
        }
        case 'padding': {
          const n = Math.min(state.remaining, available);
          pos += n;
          this.offset += n;
          state.remaining -= n;
          if (state.remaining === 0) this.state = { at: 'header' };
          break;
        }
        case 'end':
          // Writers pad archives to whole records after the marker; that is not content.
          this.offset += available;
          pos = bytes.length;
          break;
      }
    }
    return events;
  }

  /** Call when the input is exhausted: throws unless the archive ended properly. */
  finish(): void {
    if (this.state.at === 'end') return;
    throw new TarFormatError(
      `the archive is truncated: it ends after ${this.offset + this.filled} bytes, ${this.describeState()} (a complete archive ends with two zero blocks)`,
    );
  }

  private describeState(): string {
    switch (this.state.at) {
      case 'data':
        return `${this.state.remaining} bytes short of the end of a member`;
      case 'meta':
      case 'padding':
        return 'inside a member';
      default:
        return this.zeroBlocks === 1 ? 'after only one of the two end-of-archive blocks' : 'without the end-of-archive marker';
    }
  }

  private onHeaderBlock(events: TarEvent[]): void {
    const block = this.block;
    if (isZero(block)) {
      this.zeroBlocks++;
      if (this.zeroBlocks === 2) {
        this.state = { at: 'end' };
        events.push({ kind: 'end' });
      }
      return;
    }
    if (this.zeroBlocks > 0) throw new TarFormatError(`a lone zero block at byte ${this.offset - BLOCK} inside the archive`);
    const header = parseHeader(block, this.offset);
    const metaKind = META_TYPES[header.typeflag];
    const size = metaKind ? header.size : (this.next.size ?? header.size);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (metaKind) {
      if (size > MAX_META_BYTES)
        throw new TarFormatError(`a ${metaKind} header of ${size} bytes at byte ${this.offset} is too large`);
      if (size === 0) return;
      this.state = { at: 'meta', kind: metaKind, remaining: size, padding, parts: [] };
      return;
    }
    const entry: TarEntry = {
      name: this.next.path ?? header.name,
      type: entryType(header.typeflag),
      size,
      mode: header.mode,
      mtime: header.mtime,
    };
    this.next = {};
    events.push({ kind: 'entry', entry });
    if (size === 0) events.push({ kind: 'entry-end' });
    else this.state = { at: 'data', remaining: size, padding };
  }

  private onMeta(kind: 'pax' | 'global' | 'longname' | 'skip', data: Buffer): void {
    if (kind === 'pax') {
      const records = parsePax(data);
      if (records.has('path')) this.next.path = records.get('path');
      const size = records.get('size');
      if (size !== undefined) {
        if (!/^\d{1,16}$/.test(size) || !Number.isSafeInteger(Number(size)))
          throw new TarFormatError(`a pax size of ${JSON.stringify(size)} is not a byte count`);
        this.next.size = Number(size);
      }
    } else if (kind === 'longname') {
      this.next.path = cString(data, 0, data.length);
    }
  }
}

export interface TarHeaderInput {
  name: string;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  mode?: number;
}

/** The ustar header block of a regular file (names up to 100 bytes, sizes below 8 GiB). */
export function tarHeader(input: TarHeaderInput): Buffer {
  const name = Buffer.from(input.name, 'utf8');
  if (name.length === 0 || name.length > 100)
    throw new RangeError(`tar member name ${JSON.stringify(input.name)} must be 1–100 bytes`);
  if (!Number.isSafeInteger(input.size) || input.size < 0 || input.size >= 8 ** 11)
    throw new RangeError(`tar member size ${input.size} does not fit a ustar header`);
  const block = Buffer.alloc(BLOCK);
  name.copy(block, 0);
  octal(block, 100, 8, input.mode ?? 0o644);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, input.size);
  octal(block, 136, 12, Math.max(0, Math.floor(input.mtime)));
  block.write('        ', 148, 'ascii');
  block.write('0', 156, 'ascii');
  block.write('ustar\u000000', 257, 'ascii');
  octal(block, 148, 7, checksum(block));
  return block;
}

/** The zero bytes that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** Bytes of an archive holding files of these sizes, headers, padding and end marker included. */
export function tarSize(sizes: number[]): number {
  return sizes.reduce((sum, size) => sum + BLOCK + size + tarPadding(size).length, 0) + TAR_END.length;
}

// ---- header fields ----

interface RawHeader {
  name: string;
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
}

const META_TYPES: Record<string, 'pax' | 'global' | 'longname' | 'skip' | undefined> = {
  x: 'pax',
  g: 'global',
  L: 'longname',
  K: 'skip',
};

function parseHeader(block: Buffer, offset: number): RawHeader {
  const stored = parseNumber(block, 148, 8, 'checksum', offset);
  if (stored !== checksum(block))
    throw new TarFormatError(`the header at byte ${offset} has a bad checksum: not a tar archive, or corrupted`);
  const magic = block.toString('latin1', 257, 263);
  const ustar = magic === 'ustar\u0000';
  const gnu = magic === 'ustar ';
  if (!ustar && !gnu)
    throw new TarFormatError(`the header at byte ${offset} is not a ustar header (magic ${JSON.stringify(magic)})`);
  const base = cString(block, 0, 100);
  // GNU tar keeps access and change times where ustar keeps the name prefix.
  const prefix = ustar ? cString(block, 345, 155) : '';
  return {
    name: prefix ? `${prefix}/${base}` : base,
    typeflag: String.fromCharCode(block[156]!),
    size: parseNumber(block, 124, 12, 'size', offset),
    mode: parseNumber(block, 100, 8, 'mode', offset),
    mtime: parseNumber(block, 136, 12, 'mtime', offset),
  };
}

function entryType(typeflag: string): TarEntryType {
  switch (typeflag) {
    case '0':
    case '\u0000':
    case '7':
      return 'file';
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    default:
      return 'other';
  }
}

/** An octal field (leading spaces or zeros, ended by NUL or space), or GNU's base-256 form. */
function parseNumber(block: Buffer, start: number, length: number, field: string, offset: number): number {
  if (block[start]! & 0x80) {
    if (block[start] === 0xff) throw new TarFormatError(`the ${field} of the header at byte ${offset} is negative`);
    let value = block[start]! & 0x7f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i]!;
    if (!Number.isSafeInteger(value)) throw new TarFormatError(`the ${field} of the header at byte ${offset} is too large`);
    return value;
  }
  const text = block
    .toString('latin1', start, start + length)
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`the ${field} of the header at byte ${offset} is not an octal number`);
  return parseInt(text, 8);
}

function octal(block: Buffer, start: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, start, length, 'ascii');
}

/** Sum of the header's bytes with the checksum field counted as spaces. */
function checksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

function cString(buffer: Buffer, start: number, length: number): string {
  const end = buffer.indexOf(0, start);
  return buffer.toString('utf8', start, end === -1 || end > start + length ? start + length : end);
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Pax records: "<length> <key>=<value>\n", the length counting the whole record. */
function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const lengthText = space === -1 ? '' : data.toString('latin1', pos, space);
    const length = Number(lengthText);
    if (!/^\d+$/.test(lengthText) || length <= space - pos + 1 || pos + length > data.length || data[pos + length - 1] !== 0x0a)
      throw new TarFormatError('a pax extended header is malformed');
    const record = data.toString('utf8', space + 1, pos + length - 1);
    const equals = record.indexOf('=');
    if (equals <= 0) throw new TarFormatError('a pax extended header record has no key');
    records.set(record.slice(0, equals), record.slice(equals + 1));
    pos += length;
  }
  return records;
}
