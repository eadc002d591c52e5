/**
 * OS images over real HTTP on both store backends: upload (a GNU tar),
 * listing, byte-exact and ranged boot downloads, idempotent re-upload,
 * conflicts, keep-newest-N pruning, deletion, and uploads that must leave
 * nothing behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AllowList } from '../../src/api/auth.js';
import type { ImageListing } from '../../src/boot/images.js';
import type { AuditRecord } from '../../src/inventory/audit.js';
import type { Store } from '../../src/store/interface.js';
import { call } from '../helpers/api-server.js';
import { type OpenedStore, storeBackends } from '../helpers/boot-backends.js';
import { type BootServer, craftTar, eventually, filesUnder, gnuTar, readData, startBootServer } from '../helpers/boot-server.js';
import { tempDir } from '../helpers/temp.js';

const { backends, stop } = storeBackends('boot-images');
after(stop);

const KEEP = 3;
const MAX_BYTES = 4 << 20;
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const image = (kernelBytes = 300_000, initrdBytes = 1_234_567) => ({
  kernel: randomBytes(kernelBytes),
  'initrd.gz': randomBytes(initrdBytes),
});

for (const backend of backends) {
  describe(`images on ${backend.name}`, () => {
    let store: Store;
    let opened: OpenedStore;
    let server: BootServer;
    let url: string;
    const dir = tempDir('boot-images');
    const first = image();

    const upload = (id: string, body: Buffer, headers: Record<string, string> = {}) =>
      call(url, 'PUT', `/api/v1/images/coreos/${id}`, body, { 'content-type': 'application/x-tar', ...headers });
    const index = async () => (await call(url, 'GET', '/api/v1/images/coreos')).body as ImageListing[];
    const ids = async () => (await index()).map((e) => e.id);
    const download = (path: string, init: RequestInit = {}) => fetch(`${url}${path}`, init);
    /** Files under the data dir other than those of the listed images: must be none. */
    const strayFiles = async () => {
      const expected = new Set(
        (await ids()).flatMap((id) => ['kernel', 'initrd.gz', 'SHA256SUMS'].map((f) => `images/coreos/${id}/${f}`)),
      );
      return filesUnder(dir.path).filter((f) => f.startsWith('images/') && !expected.has(f));
    };

    before(async () => {
      opened = await backend.open();
      store = opened.store;
      server = await startBootServer(store, { dataDir: dir.path, keep: KEEP, maxImageBytes: MAX_BYTES });
      url = server.url;
    });
    after(async () => {
      await server?.close();
      await opened?.release();
      dir.remove();
    });

    it('uploads a GNU tar of kernel and initrd.gz, lists it and keeps the files on disk', async () => {
      const response = await upload('3000.1.0', gnuTar(first));
      assert.equal(response.status, 201);
      assert.deepEqual(response.body, { status: 201, id: '3000.1.0' });
      const [entry, ...rest] = await index();
      assert.equal(rest.length, 0);
      assert.equal(entry!.id, '3000.1.0');
      assert.equal(entry!.size, first.kernel.length + first['initrd.gz'].length);
      assert.deepEqual(entry!.sha256, { kernel: sha(first.kernel), 'initrd.gz': sha(first['initrd.gz']) });
      assert.deepEqual(entry!.urls, [url]);
      assert.equal(entry!.exists, true);
      assert.ok(Math.abs(Date.parse(entry!.date) - Date.now()) < 60_000);
      assert.ok(readData(dir.path, 'images/coreos/3000.1.0/kernel').equals(first.kernel));
      assert.ok(readData(dir.path, 'images/coreos/3000.1.0/initrd.gz').equals(first['initrd.gz']));
      assert.deepEqual(await strayFiles(), []);
    });

    it('serves the kernel and initrd byte-exact with Content-Length, Accept-Ranges and an ETag', async () => {
      for (const file of ['kernel', 'initrd.gz'] as const) {
        const response = await download(`/api/v1/boot/coreos/images/3000.1.0/${file}`);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-length'), String(first[file].length));
        assert.equal(response.headers.get('accept-ranges'), 'bytes');
        assert.equal(response.headers.get('etag'), `"${sha(first[file])}"`);
        assert.ok(Buffer.from(await response.arrayBuffer()).equals(first[file]), file);
      }
      const head = await download('/api/v1/boot/coreos/images/3000.1.0/initrd.gz', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(first['initrd.gz'].length));
      assert.equal((await head.arrayBuffer()).byteLength, 0);
      // sabakan's unversioned paths serve the newest image this server holds.
      const newest = await download('/api/v1/boot/coreos/kernel');
      assert.ok(Buffer.from(await newest.arrayBuffer()).equals(first.kernel));
      assert.equal(await server.images.newestLocalImage(), '3000.1.0');
    });

    it('answers single ranges with 206, and ranges past the end with 416', async () => {
      const kernel = first.kernel;
      const path = '/api/v1/boot/coreos/images/3000.1.0/kernel';
      const cases: [string, number, number][] = [
        ['bytes=0-99', 0, 99],
        ['bytes=1000-', 1000, kernel.length - 1],
        ['bytes=-500', kernel.length - 500, kernel.length - 1],
        [`bytes=${kernel.length - 10}-${kernel.length + 1000}`, kernel.length - 10, kernel.length - 1],
      ];
      for (const [range, start, end] of cases) {
        const response = await download(path, { headers: { range } });
        assert.equal(response.status, 206, range);
        assert.equal(response.headers.get('content-range'), `bytes ${start}-${end}/${kernel.length}`);
        assert.equal(response.headers.get('content-length'), String(end - start + 1));
        assert.ok(Buffer.from(await response.arrayBuffer()).equals(kernel.subarray(start, end + 1)), range);
      }
      const head = await download(path, { method: 'HEAD', headers: { range: 'bytes=10-19' } });
      assert.equal(head.status, 206);
      assert.equal(head.headers.get('content-length'), '10');
      const beyond = await download(path, { headers: { range: `bytes=${kernel.length}-` } });
      assert.equal(beyond.status, 416);
      assert.equal(beyond.headers.get('content-range'), `bytes */${kernel.length}`);
      await beyond.arrayBuffer();
      // A stale If-Range gets the whole file; a current one the range.
      const stale = await download(path, { headers: { range: 'bytes=0-9', 'if-range': '"old"' } });
      assert.equal(stale.status, 200);
      assert.equal((await stale.arrayBuffer()).byteLength, kernel.length);
      const current = await download(path, { headers: { range: 'bytes=0-9', 'if-range': `"${sha(kernel)}"` } });
      assert.equal(current.status, 206);
      await current.arrayBuffer();
      // Several ranges at once: the whole file (allowed by RFC 9110).
      const multi = await download(path, { headers: { range: 'bytes=0-9,20-29' } });
      assert.equal(multi.status, 200);
      await multi.arrayBuffer();
    });

    it('serves the image as a tar that GNU tar reads, and takes the same content back as a no-op (200)', async () => {
      const response = await download('/api/v1/images/coreos/3000.1.0');
      assert.equal(response.status, 200);
      const tar = Buffer.from(await response.arrayBuffer());
      assert.equal(response.headers.get('content-length'), String(tar.length));
      const out = tempDir('boot-images-tar');
      try {
        const path = join(out.path, 'image.tar');
        writeFileSync(path, tar);
        execFileSync('tar', ['-xf', path, '-C', out.path]);
        assert.ok(readData(out.path, 'kernel').equals(first.kernel));
        assert.ok(readData(out.path, 'initrd.gz').equals(first['initrd.gz']));
      } finally {
        out.remove();
      }
      // Same content in another packaging (our tar, not GNU's): still the same image.
      const again = await upload('3000.1.0', tar);
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, { status: 200, id: '3000.1.0' });
      assert.deepEqual(await ids(), ['3000.1.0']);
      assert.deepEqual(await strayFiles(), []);
    });

    it('refuses other content under an existing ID with 409, keeping the original', async () => {
      const other = image(1000, 1000);
      const response = await upload('3000.1.0', gnuTar(other));
      assert.equal(response.status, 409);
      assert.equal((response.body as { field: string }).field, 'id');
      assert.match((response.body as { error: string }).error, /different content/);
      assert.ok(readData(dir.path, 'images/coreos/3000.1.0/kernel').equals(first.kernel));
      assert.deepEqual(await strayFiles(), []);
    });

    it('refuses invalid tars with a 4xx and leaves no file and no index entry', async () => {
      const good = image(5000, 7000);
      const complete = gnuTar(good);
      const cases: [string, Buffer, number, RegExp][] = [
        ['an extra member', gnuTar({ ...good, 'notes.txt': Buffer.from('hi') }), 400, /notes\.txt.*not part of an image/],
        ['a missing initrd', gnuTar({ kernel: good.kernel }), 400, /lacks initrd\.gz/],
        ['a truncated tar', complete.subarray(0, 6000), 400, /truncated/],
        ['a tar missing its second end-of-archive block', complete.subarray(0, 512 * 2 + 5120 + 512 + 7168), 400, /truncated/],
        [
          'a ../ name',
          craftTar([
            { name: '../kernel', data: good.kernel },
            { name: 'initrd.gz', data: good['initrd.gz'] },
          ]),
          400,
          /outside/,
        ],
        [
          'an absolute name',
          craftTar([
            { name: '/kernel', data: good.kernel },
            { name: 'initrd.gz', data: good['initrd.gz'] },
          ]),
          400,
          /outside/,
        ],
        [
          'a symlink',
          craftTar([
            { name: 'kernel', data: Buffer.alloc(0), typeflag: '2' },
            { name: 'initrd.gz', data: good['initrd.gz'] },
          ]),
          400,
          /symlink/,
        ],
        [
          'a duplicate member',
          craftTar([
            { name: 'kernel', data: good.kernel },
            { name: 'kernel', data: good.kernel },
          ]),
          400,
          /twice/,
        ],
        ['not a tar', randomBytes(4096), 400, /invalid image tar/],
        ['an empty body', Buffer.alloc(0), 400, /truncated/],
        ['an oversized image', gnuTar({ kernel: randomBytes(MAX_BYTES), 'initrd.gz': Buffer.from('x') }), 413, /limit/],
      ];
      for (const [what, body, status, message] of cases) {
        const response = await upload('bad-1', body);
        assert.equal(response.status, status, `${what}: ${response.text}`);
        assert.match((response.body as { error: string }).error, message, what);
        assert.deepEqual(await ids(), ['3000.1.0'], what);
        assert.deepEqual(await strayFiles(), [], what);
      }
    });

    it('refuses an oversized image by its tar header before reading the data, even without Content-Length', async () => {
      const huge = craftTar([{ name: 'kernel', data: Buffer.alloc(0) }]);
      // Declare a kernel larger than the limit in the header itself.
      const header = huge.subarray(0, 512);
      header.write(`${(MAX_BYTES + 1).toString(8).padStart(11, '0')}\u0000`, 124, 'ascii');
      header.write('        ', 148, 'ascii');
      let sum = 0;
      for (const byte of header) sum += byte;
      header.write(`${sum.toString(8).padStart(6, '0')}\u0000`, 148, 'ascii');
      const chunked = await rawPut(`${url}/api/v1/images/coreos/huge`, { 'transfer-encoding': 'chunked' }, [
        header,
        Buffer.alloc(4096),
      ]);
      assert.equal(chunked.status, 413);
      assert.match(chunked.body, /limit of 4194304 bytes/);
      // A Content-Length over the limit is refused before any of the body is read.
      const declared = await rawPut(`${url}/api/v1/images/coreos/huge`, { 'content-length': String(MAX_BYTES + 1) }, []);
      assert.equal(declared.status, 413);
      assert.deepEqual(await ids(), ['3000.1.0']);
      assert.deepEqual(await strayFiles(), []);
    });

    it('leaves nothing behind when the client goes away in the middle of an upload', async () => {
      const tar = gnuTar(image(200_000, 200_000));
      await new Promise<void>((resolve) => {
        const req = request(`${url}/api/v1/images/coreos/interrupted`, {
          method: 'PUT',
          headers: { 'content-length': String(tar.length) },
        });
        req.on('error', () => resolve());
        req.write(tar.subarray(0, 150_000), () => setTimeout(() => req.destroy(), 100));
      });
      await eventually('the interrupted upload is cleaned up', async () => (await strayFiles()).length === 0);
      assert.deepEqual(await ids(), ['3000.1.0']);
    });

    it('refuses bad IDs naming the field, and answers 404 for unknown images', async () => {
      const bad = await upload('-bad', gnuTar(image(10, 10)));
      assert.equal(bad.status, 400);
      assert.equal((bad.body as { field: string }).field, 'id');
      for (const path of ['/api/v1/images/coreos/nope', '/api/v1/boot/coreos/images/nope/kernel']) {
        assert.equal((await call(url, 'GET', path)).status, 404, path);
      }
      assert.equal((await call(url, 'DELETE', '/api/v1/images/coreos/nope')).status, 404);
      assert.equal((await call(url, 'GET', '/api/v1/boot/coreos/images/3000.1.0/vmlinuz')).status, 400);
    });

    it('keeps the newest N images: an upload beyond N deletes the oldest, files too, and its ID is refused afterwards', async () => {
      const uploaded = ['3000.2.0', '3000.3.0'];
      for (const id of uploaded) assert.equal((await upload(id, gnuTar(image(1000, 2000)))).status, 201, id);
      assert.deepEqual(await ids(), ['3000.1.0', ...uploaded]);
      assert.equal((await upload('3000.4.0', gnuTar(image(1000, 2000)))).status, 201);
      assert.deepEqual(await ids(), ['3000.2.0', '3000.3.0', '3000.4.0']);
      assert.equal(existsSync(join(dir.path, 'images/coreos/3000.1.0')), false, 'the pruned image’s files are gone');
      assert.deepEqual(await strayFiles(), []);
      assert.equal((await call(url, 'GET', '/api/v1/boot/coreos/images/3000.1.0/kernel')).status, 404);
      const again = await upload('3000.1.0', gnuTar(first));
      assert.equal(again.status, 409);
      assert.match((again.body as { error: string }).error, /deleted recently/);
      assert.equal(await server.images.newestLocalImage(), '3000.4.0');
    });

    it('deletes an image (files and entry), refuses its ID afterwards, and audits uploads, prunes and deletions', async () => {
      assert.equal((await call(url, 'DELETE', '/api/v1/images/coreos/3000.4.0')).status, 200);
      assert.deepEqual(await ids(), ['3000.2.0', '3000.3.0']);
      assert.equal(existsSync(join(dir.path, 'images/coreos/3000.4.0')), false);
      assert.equal((await upload('3000.4.0', gnuTar(image(10, 10)))).status, 409);
      assert.equal(await server.images.newestLocalImage(), '3000.3.0');
      const records = (await call(url, 'GET', '/api/v1/logs')).text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditRecord)
        .filter((r) => r.category === 'images')
        // Records of one transaction share its revision; order them by action within it.
        .sort((a, b) => a.rev - b.rev || b.action.localeCompare(a.action));
      assert.deepEqual(
        records.map((r) => `${r.action} ${r.instance}`),
        ['upload 3000.1.0', 'upload 3000.2.0', 'upload 3000.3.0', 'upload 3000.4.0', 'prune 3000.1.0', 'delete 3000.4.0'],
      );
      assert.equal(records[4]!.rev, records[3]!.rev, 'the prune is recorded in the upload’s transaction');
      assert.equal(records[0]!.ip, '127.0.0.1');
    });

    it('forgets all but the 10 most recently deleted IDs', async () => {
      // Each upload beyond KEEP pushes one more ID onto the deleted list.
      for (let i = 0; i < 10; i++) assert.equal((await upload(`churn-${i}`, gnuTar(image(10, 10)))).status, 201);
      const oldest = await upload('3000.1.0', gnuTar(first));
      assert.equal(oldest.status, 201, '3000.1.0 has dropped off the deleted list');
      assert.equal((await upload('churn-0', gnuTar(image(10, 10)))).status, 409, 'churn-0 is still on it');
      assert.deepEqual(await strayFiles(), []);
    });

    it('takes concurrent uploads: one ID with the same content lands once, different IDs all land', async () => {
      const same = gnuTar(image(50_000, 50_000));
      const statuses = (await Promise.all([1, 2, 3, 4].map(() => upload('race-same', same)))).map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 200, 200, 201]);
      const results = await Promise.all(['race-a', 'race-b', 'race-c'].map((id) => upload(id, gnuTar(image(1000, 1000)))));
      assert.deepEqual(
        results.map((r) => r.status),
        [201, 201, 201],
      );
      const listed = await ids();
      assert.equal(listed.length, KEEP);
      assert.deepEqual([...listed].sort(), ['race-a', 'race-b', 'race-c']);
      assert.deepEqual(await strayFiles(), []);
    });

    it('cleans up after a crash: temp files, and images and asset files that nothing names, go at start', async () => {
      const crashed = tempDir('boot-images-crashed');
      const leftovers = [
        'images/.tmp/upload-1-abc/kernel',
        'images/coreos/orphan/kernel',
        'images/coreos/race-a/kernel',
        'assets/.tmp/upload-1-abc',
        'assets/99999',
      ];
      let client: Awaited<ReturnType<OpenedStore['sibling']>> | undefined;
      let restarted: BootServer | undefined;
      try {
        for (const path of leftovers) {
          mkdirSync(dirname(join(crashed.path, path)), { recursive: true });
          writeFileSync(join(crashed.path, path), 'partial');
        }
        // A restarted process has its own store client.
        client = await opened.sibling();
        restarted = await startBootServer(client.store, { dataDir: crashed.path, replicate: true });
        // race-a is in the index but its local copy is incomplete: it is fetched again from the first server, like the rest.
        const expected = ['race-a', 'race-b', 'race-c'].flatMap((id) =>
          ['SHA256SUMS', 'initrd.gz', 'kernel'].map((f) => `images/coreos/${id}/${f}`),
        );
        await eventually(
          'the leftovers are gone and every image is complete',
          () => filesUnder(crashed.path).join() === expected.join(),
        );
        assert.equal((await restarted.images.list()).find((e) => e.id === 'race-a')?.exists, true);
      } finally {
        await restarted?.close();
        await client?.release();
        crashed.remove();
      }
    });

    it('refuses uploads and deletions from clients without write access, storing nothing', async () => {
      const readOnly = tempDir('boot-images-ro');
      let guarded: BootServer | undefined;
      try {
        guarded = await startBootServer(store, { dataDir: readOnly.path, policy: { allowed: AllowList.parse('10.255.0.0/16') } });
        const response = await call(guarded.url, 'PUT', '/api/v1/images/coreos/nope', gnuTar(image(10, 10)));
        assert.equal(response.status, 403);
        assert.equal((await call(guarded.url, 'DELETE', '/api/v1/images/coreos/race-a')).status, 403);
        assert.equal((await call(guarded.url, 'GET', '/api/v1/images/coreos')).status, 200);
        assert.deepEqual(filesUnder(readOnly.path), []);
      } finally {
        await guarded?.close();
        readOnly.remove();
      }
    });
  });
}

/** A PUT that sends `parts` and then waits, without finishing the body: the answer must come from what was sent. */
function rawPut(target: string, headers: Record<string, string>, parts: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(target, { method: 'PUT', headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode!, body });
      });
    });
    req.on('error', reject);
    for (const part of parts) req.write(part);
    req.flushHeaders();
  });
}
