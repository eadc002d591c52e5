/** The ustar reader against archives written by GNU tar (the real one), and the header writer against GNU tar reading it. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { BLOCK, TAR_END, type TarEntry, TarFormatError, tarHeader, tarPadding, TarReader, tarSize } from '../../src/boot/tar.js';
import { tempDir } from '../helpers/temp.js';

interface Read {
  entries: (TarEntry & { data: Buffer })[];
  ended: boolean;
}

/** Feeds `archive` to a reader in chunks of the given sizes (cycled) and collects what it reports. */
function readAll(archive: Buffer, chunkSizes: number[] = [archive.length]): Read {
  const reader = new TarReader();
  const result: Read = { entries: [], ended: false };
  let parts: Buffer[] = [];
  let pos = 0;
  for (let i = 0; pos < archive.length; i++) {
    const size = Math.max(1, chunkSizes[i % chunkSizes.length]!);
    for (const event of reader.push(archive.subarray(pos, pos + size))) {
      if (event.kind === 'entry') {
        result.entries.push({ ...event.entry, data: Buffer.alloc(0) });
        parts = [];
      } else if (event.kind === 'data') parts.push(Buffer.from(event.data));
      else if (event.kind === 'entry-end') result.entries[result.entries.length - 1]!.data = Buffer.concat(parts);
      else result.ended = true;
    }
    pos += size;
  }
  reader.finish();
  return result;
}

describe('tar reader', () => {
  const dir = tempDir('tar');
  const files = {
    kernel: randomBytes(70_001),
    'initrd.gz': randomBytes(1),
    empty: Buffer.alloc(0),
    exact: randomBytes(BLOCK * 3),
  };
  const archives = new Map<string, Buffer>();
  const longName = `${'d'.repeat(120)}/${'f'.repeat(90)}`;

  before(() => {
    const src = join(dir.path, 'src');
    mkdirSync(join(src, 'd'.repeat(120)), { recursive: true });
    for (const [name, data] of Object.entries(files)) writeFileSync(join(src, name), data);
    writeFileSync(join(src, longName), files.kernel.subarray(0, 1000));
    for (const format of ['ustar', 'gnu', 'posix']) {
      const out = join(dir.path, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', out, '-C', src, ...Object.keys(files)]);
      archives.set(format, readFileSync(out));
    }
    for (const format of ['ustar', 'gnu', 'posix']) {
      const out = join(dir.path, `${format}-long.tar`);
      execFileSync('tar', [`--format=${format}`, '-cf', out, '-C', src, longName]);
      archives.set(`${format}-long`, readFileSync(out));
    }
  });
  after(() => dir.remove());

  for (const format of ['ustar', 'gnu', 'posix']) {
    it(`reads GNU tar's ${format} format byte-exact, whole or in chunks of any size`, () => {
      const archive = archives.get(format)!;
      for (const chunks of [[archive.length], [1], [511, 2, 513], [BLOCK], [65_536]]) {
        const read = readAll(archive, chunks);
        assert.equal(read.ended, true);
        assert.deepEqual(
          read.entries.map((e) => [e.name, e.type, e.size]),
          Object.entries(files).map(([name, data]) => [name, 'file', data.length]),
        );
        for (const entry of read.entries) assert.ok(entry.data.equals(files[entry.name as keyof typeof files]), entry.name);
      }
    });
  }

  it('reads long names from the ustar prefix, pax headers and GNU long-name records', () => {
    for (const format of ['ustar-long', 'gnu-long', 'posix-long']) {
      const read = readAll(archives.get(format)!, [100]);
      assert.deepEqual(
        read.entries.map((e) => [e.name, e.size]),
        [[longName, 1000]],
        format,
      );
    }
  });

  it('gives the same result however the archive is split (property)', () => {
    const archive = archives.get('posix')!;
    const whole = readAll(archive);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 20 }), (chunks) => {
        assert.deepEqual(readAll(archive, chunks), whole);
      }),
      { numRuns: 200 },
    );
  });

  it('reports every truncation as an error, never as a shorter archive', () => {
    const archive = archives.get('ustar')!;
    // GNU tar pads to a 10 KiB record; the content ends with the second zero block.
    const contentEnd = tarSize(Object.values(files).map((f) => f.length));
    for (let cut = 0; cut < contentEnd; cut += cut < 2 * BLOCK ? 1 : 97) {
      assert.throws(() => readAll(archive.subarray(0, cut), [300]), TarFormatError, `cut at ${cut}`);
    }
    assert.equal(readAll(archive.subarray(0, contentEnd)).ended, true);
  });

  it('refuses corrupted headers and stray zero blocks', () => {
    const archive = Buffer.from(archives.get('ustar')!);
    const badSum = Buffer.from(archive);
    badSum[10] = badSum[10]! ^ 0x01;
    assert.throws(() => readAll(badSum), /bad checksum/);
    assert.throws(() => readAll(randomBytes(4096)), TarFormatError);
    const header = tarHeader({ name: 'a', size: 0, mtime: 0 });
    const lone = Buffer.concat([Buffer.alloc(BLOCK), header, TAR_END]);
    assert.throws(() => readAll(lone), /lone zero block/);
    const noMagic = Buffer.from(header);
    noMagic.write('xxxxx', 257, 'ascii');
    assert.throws(() => readAll(Buffer.concat([noMagic, TAR_END])), TarFormatError);
  });

  it('ignores what follows the end marker', () => {
    const archive = Buffer.concat([
      tarHeader({ name: 'a', size: 3, mtime: 0 }),
      Buffer.from('abc'),
      tarPadding(3),
      TAR_END,
      randomBytes(700),
    ]);
    const read = readAll(archive, [64]);
    assert.equal(read.entries.length, 1);
    assert.equal(read.entries[0]!.data.toString(), 'abc');
  });

  it('writes headers GNU tar reads back byte-exact', () => {
    const names = ['kernel', 'initrd.gz', 'empty'] as const;
    const archive = Buffer.concat([
      ...names.flatMap((name) => [
        tarHeader({ name, size: files[name].length, mtime: 1_700_000_000 }),
        files[name],
        tarPadding(files[name].length),
      ]),
      TAR_END,
    ]);
    assert.equal(archive.length, tarSize(names.map((n) => files[n].length)));
    const path = join(dir.path, 'ours.tar');
    writeFileSync(path, archive);
    const listing = execFileSync('tar', ['-tvf', path, '--utc'], { encoding: 'utf8' });
    assert.match(listing, /70001 2023-11-14 22:13 kernel/);
    const out = join(dir.path, 'extracted');
    mkdirSync(out);
    execFileSync('tar', ['-xf', path, '-C', out]);
    for (const name of names) assert.ok(readFileSync(join(out, name)).equals(files[name]), name);
    assert.deepEqual(
      readAll(archive).entries.map((e) => [e.name, e.size, e.mtime, e.mode]),
      names.map((n) => [n, files[n].length, 1_700_000_000, 0o644]),
    );
  });

  it('refuses names and sizes a ustar header cannot hold', () => {
    assert.throws(() => tarHeader({ name: 'x'.repeat(101), size: 0, mtime: 0 }), RangeError);
    assert.throws(() => tarHeader({ name: 'x', size: 8 ** 11, mtime: 0 }), RangeError);
  });
});
