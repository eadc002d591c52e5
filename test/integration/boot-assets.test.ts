/**
 * Assets over real HTTP on both store backends: upload with Content-Type,
 * checksum and options headers, metadata, byte-exact and ranged downloads,
 * replacement under a new ID, checksum mismatches that store nothing, and deletion.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AssetInfo } from '../../src/boot/asset-model.js';
import type { AuditRecord } from '../../src/inventory/audit.js';
import type { Store } from '../../src/store/interface.js';
import { call } from '../helpers/api-server.js';
import { storeBackends } from '../helpers/boot-backends.js';
import { type BootServer, filesUnder, readData, startBootServer } from '../helpers/boot-server.js';
import { tempDir } from '../helpers/temp.js';

const { backends, stop } = storeBackends('boot-assets');
after(stop);

const MAX_BYTES = 1 << 20;
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

for (const backend of backends) {
  describe(`assets on ${backend.name}`, () => {
    let store: Store;
    let release: () => Promise<void>;
    let server: BootServer;
    let url: string;
    const dir = tempDir('boot-assets');
    const data = randomBytes(100_000);

    const put = (
      name: string,
      body: Buffer | string,
      headers: Record<string, string> = { 'content-type': 'application/octet-stream' },
    ) => call(url, 'PUT', `/api/v1/assets/${name}`, body, headers);
    const meta = async (name: string) => (await call(url, 'GET', `/api/v1/assets/${name}/meta`)).body as AssetInfo;
    /** The asset files on disk: exactly one per asset, named by its current ID. */
    const assetFiles = () => filesUnder(dir.path).filter((f) => f.startsWith('assets/'));

    before(async () => {
      ({ store, release } = await backend.open());
      server = await startBootServer(store, { dataDir: dir.path, maxAssetBytes: MAX_BYTES });
      url = server.url;
    });
    after(async () => {
      await server?.close();
      await release?.();
      dir.remove();
    });

    it('uploads an asset with its checksum and options, and describes it', async () => {
      const response = await put('cke-tools.img', data, {
        'content-type': 'application/x-raw-disk-image',
        'x-sabakan-asset-sha256': sha(data).toUpperCase(),
        'X-Sabakan-Asset-Options-Compression': 'none',
        'x-sabakan-asset-options-Role': 'worker',
      });
      assert.equal(response.status, 201);
      assert.deepEqual(response.body, { status: 201, id: 1 });
      const info = await meta('cke-tools.img');
      assert.deepEqual(
        { ...info, date: undefined },
        {
          name: 'cke-tools.img',
          id: 1,
          'content-type': 'application/x-raw-disk-image',
          date: undefined,
          size: data.length,
          sha256: sha(data),
          urls: [url],
          exists: true,
          options: { compression: 'none', role: 'worker' },
        },
      );
      assert.ok(readData(dir.path, 'assets/1').equals(data));
      assert.deepEqual(assetFiles(), ['assets/1']);
    });

    it('serves it byte-exact with its ID, checksum, type, length and ETag; HEAD sends the headers only', async () => {
      const response = await fetch(`${url}/api/v1/assets/cke-tools.img`);
      assert.equal(response.status, 200);
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(data));
      assert.equal(response.headers.get('x-sabakan-asset-id'), '1');
      assert.equal(response.headers.get('x-sabakan-asset-sha256'), sha(data));
      assert.equal(response.headers.get('content-type'), 'application/x-raw-disk-image');
      assert.equal(response.headers.get('content-length'), String(data.length));
      assert.equal(response.headers.get('etag'), `"${sha(data)}"`);
      assert.equal(response.headers.get('accept-ranges'), 'bytes');
      const head = await fetch(`${url}/api/v1/assets/cke-tools.img`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(data.length));
      assert.equal(head.headers.get('x-sabakan-asset-id'), '1');
      assert.equal((await head.arrayBuffer()).byteLength, 0);
    });

    it('serves byte ranges (206) and refuses ranges past the end (416)', async () => {
      const partial = await fetch(`${url}/api/v1/assets/cke-tools.img`, { headers: { range: 'bytes=5000-5999' } });
      assert.equal(partial.status, 206);
      assert.equal(partial.headers.get('content-range'), `bytes 5000-5999/${data.length}`);
      assert.ok(Buffer.from(await partial.arrayBuffer()).equals(data.subarray(5000, 6000)));
      const tail = await fetch(`${url}/api/v1/assets/cke-tools.img`, { headers: { range: 'bytes=-10' } });
      assert.ok(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(-10)));
      const beyond = await fetch(`${url}/api/v1/assets/cke-tools.img`, { headers: { range: `bytes=${data.length}-` } });
      assert.equal(beyond.status, 416);
      assert.equal(beyond.headers.get('content-range'), `bytes */${data.length}`);
      await beyond.arrayBuffer();
    });

    it('replaces an asset under a new ID (200) and removes the old file once the metadata has switched', async () => {
      const next = randomBytes(5000);
      const response = await put('cke-tools.img', next, { 'content-type': 'application/octet-stream' });
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, { status: 200, id: 2 });
      const info = await meta('cke-tools.img');
      assert.equal(info.id, 2);
      assert.equal(info.sha256, sha(next));
      assert.deepEqual(info.options, {});
      assert.deepEqual(assetFiles(), ['assets/2']);
      const download = await fetch(`${url}/api/v1/assets/cke-tools.img`);
      assert.equal(download.headers.get('x-sabakan-asset-id'), '2');
      assert.ok(Buffer.from(await download.arrayBuffer()).equals(next));
    });

    it('stores any content type raw, JSON included, and empty files', async () => {
      const json = '{"not": "parsed", "by": "the server"}\n';
      assert.equal((await put('config.json', json, { 'content-type': 'application/json' })).status, 201);
      const response = await fetch(`${url}/api/v1/assets/config.json`);
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.equal(await response.text(), json);
      assert.equal((await put('empty', Buffer.alloc(0), { 'content-type': 'text/plain' })).status, 201);
      const empty = await fetch(`${url}/api/v1/assets/empty`);
      assert.equal(empty.status, 200);
      assert.equal(empty.headers.get('content-length'), '0');
      assert.equal((await empty.arrayBuffer()).byteLength, 0);
      assert.deepEqual((await call(url, 'GET', '/api/v1/assets')).body, ['cke-tools.img', 'config.json', 'empty']);
    });

    it('refuses a body whose SHA-256 differs from the header with 400, storing nothing', async () => {
      const before = { names: (await call(url, 'GET', '/api/v1/assets')).body, files: assetFiles() };
      const response = await put('mismatch', data, {
        'content-type': 'application/octet-stream',
        'x-sabakan-asset-sha256': sha(Buffer.from('other')),
      });
      assert.equal(response.status, 400);
      assert.equal((response.body as { field: string }).field, 'x-sabakan-asset-sha256');
      assert.match((response.body as { error: string }).error, /nothing was stored/);
      // Replacing an existing asset with a mismatching body leaves the old version in place.
      const replace = await put('config.json', 'new', {
        'content-type': 'text/plain',
        'x-sabakan-asset-sha256': sha(Buffer.from('old')),
      });
      assert.equal(replace.status, 400);
      assert.equal((await meta('config.json'))['content-type'], 'application/json');
      const malformed = await put('mismatch', data, {
        'content-type': 'application/octet-stream',
        'x-sabakan-asset-sha256': 'abc',
      });
      assert.equal(malformed.status, 400);
      assert.deepEqual({ names: (await call(url, 'GET', '/api/v1/assets')).body, files: assetFiles() }, before);
      assert.equal((await call(url, 'GET', '/api/v1/assets/mismatch/meta')).status, 404);
    });

    it('refuses a missing Content-Type, bad names and oversized bodies, storing nothing', async () => {
      const before = assetFiles();
      // A Buffer body, so that fetch adds no Content-Type of its own.
      const untyped = await put('untyped', Buffer.from('x'), {});
      assert.equal(untyped.status, 400);
      assert.equal((untyped.body as { field: string }).field, 'content-type');
      const badName = await put('.hidden', 'x', { 'content-type': 'text/plain' });
      assert.equal(badName.status, 400);
      assert.equal((badName.body as { field: string }).field, 'name');
      const big = await put('big', randomBytes(MAX_BYTES + 1), { 'content-type': 'application/octet-stream' });
      assert.equal(big.status, 413);
      assert.deepEqual(assetFiles(), before);
      assert.deepEqual(
        filesUnder(dir.path).filter((f) => f.startsWith('assets/.tmp')),
        [],
      );
    });

    it('deletes an asset and its file; unknown assets are 404', async () => {
      assert.equal((await call(url, 'DELETE', '/api/v1/assets/empty')).status, 200);
      assert.equal((await call(url, 'GET', '/api/v1/assets/empty')).status, 404);
      assert.equal((await call(url, 'GET', '/api/v1/assets/empty/meta')).status, 404);
      assert.equal((await call(url, 'DELETE', '/api/v1/assets/empty')).status, 404);
      assert.deepEqual((await call(url, 'GET', '/api/v1/assets')).body, ['cke-tools.img', 'config.json']);
      const ids = await Promise.all(['cke-tools.img', 'config.json'].map(async (n) => `assets/${(await meta(n)).id}`));
      assert.deepEqual(assetFiles(), ids.sort());
    });

    it('audits uploads and deletions in the same transaction as the change', async () => {
      const records = (await call(url, 'GET', '/api/v1/logs')).text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditRecord)
        .filter((r) => r.category === 'assets');
      assert.deepEqual(
        records.map((r) => `${r.action} ${r.instance}`),
        ['upload cke-tools.img', 'upload cke-tools.img', 'upload config.json', 'upload empty', 'delete empty'],
      );
      assert.deepEqual(JSON.parse(records[1]!.detail), {
        id: 2,
        size: 5000,
        sha256: (await meta('cke-tools.img')).sha256,
        'content-type': 'application/octet-stream',
      });
    });

    it('gives concurrent uploads of one name distinct IDs and keeps exactly the winner’s file', async () => {
      const bodies = [1, 2, 3, 4, 5].map(() => randomBytes(2000));
      const results = await Promise.all(bodies.map((b) => put('contended', b)));
      const ids = results.map((r) => (r.body as { id: number }).id);
      assert.equal(new Set(ids).size, 5);
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 200, 201]);
      const info = await meta('contended');
      const winner = bodies.find((b) => sha(b) === info.sha256);
      assert.ok(winner, 'the stored version is one of the uploads');
      assert.ok(Buffer.from(await (await fetch(`${url}/api/v1/assets/contended`)).arrayBuffer()).equals(winner));
      assert.deepEqual(
        assetFiles().filter((f) => ids.includes(Number(f.slice('assets/'.length)))),
        [`assets/${info.id}`],
      );
    });
  });
}
