/**
 * Two boot servers on one real etcd, each with its own data dir: images and
 * assets uploaded to one become downloadable from the other, which fetches
 * them over HTTP (loopback only) and lists itself as a holder; deletions
 * remove the other's copies too.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AssetInfo } from '../../src/boot/asset-model.js';
import type { ImageListing } from '../../src/boot/images.js';
import { openStore } from '../../src/store/factory.js';
import type { Store } from '../../src/store/interface.js';
import { call } from '../helpers/api-server.js';
import { type BootServer, eventually, filesUnder, gnuTar, readData, startBootServer } from '../helpers/boot-server.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { tempDir } from '../helpers/temp.js';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('two boot servers on one etcd replicate images and assets', () => {
  let cluster: EtcdCluster;
  const stores: Store[] = [];
  const dirs = [tempDir('boot-peer-a'), tempDir('boot-peer-b')];
  let a: BootServer;
  let b: BootServer;
  const image = { kernel: randomBytes(2_000_000), 'initrd.gz': randomBytes(3_000_001) };
  const asset = randomBytes(1_500_000);

  const listing = async (server: BootServer) => (await call(server.url, 'GET', '/api/v1/images/coreos')).body as ImageListing[];
  const assetInfo = async (server: BootServer, name: string) =>
    (await call(server.url, 'GET', `/api/v1/assets/${name}/meta`)).body as AssetInfo;
  const bytes = async (server: BootServer, path: string, init: RequestInit = {}) => {
    const response = await fetch(`${server.url}${path}`, init);
    return { status: response.status, headers: response.headers, data: Buffer.from(await response.arrayBuffer()) };
  };

  before(async () => {
    cluster = await EtcdCluster.start(1);
    for (let i = 0; i < 2; i++)
      stores.push(await openStore({ backend: 'etcd', endpoints: cluster.endpoints, prefix: '/boot-peers/' }));
    a = await startBootServer(stores[0]!, { dataDir: dirs[0]!.path, replicate: true });
    // B starts without replication, to show what it serves before it has copies.
    b = await startBootServer(stores[1]!, { dataDir: dirs[1]!.path });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    for (const store of stores) await store.close();
    await cluster?.stop();
    for (const dir of dirs) dir.remove();
  });

  it('serves nothing from B before it has copies: 404 for boot files, a 302 to A for assets', async () => {
    assert.equal((await call(a.url, 'PUT', '/api/v1/images/coreos/4000.0.0', gnuTar(image))).status, 201);
    const put = await call(a.url, 'PUT', '/api/v1/assets/tools.img', asset, {
      'content-type': 'application/octet-stream',
      'x-sabakan-asset-sha256': sha(asset),
    });
    assert.equal(put.status, 201);
    const [entry] = await listing(b);
    assert.equal(entry!.exists, false);
    assert.deepEqual(entry!.urls, [a.url]);
    assert.equal((await bytes(b, '/api/v1/boot/coreos/images/4000.0.0/kernel')).status, 404);
    assert.equal(await b.images.newestLocalImage(), undefined);
    const redirect = await fetch(`${b.url}/api/v1/assets/tools.img`, { redirect: 'manual' });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), `${a.url}/api/v1/assets/tools.img`);
    assert.equal((await assetInfo(b, 'tools.img')).exists, false);
  });

  it('B fetches both from A at start-up, lists itself as a holder and serves them itself', async () => {
    await b.startReplication();
    await eventually('B holds the image', async () => (await listing(b))[0]?.exists === true);
    await eventually('B holds the asset', async () => (await assetInfo(b, 'tools.img')).exists);
    await eventually('both servers are listed as holders', async () => {
      const [entry] = await listing(a);
      const info = await assetInfo(a, 'tools.img');
      return entry?.urls.length === 2 && info.urls.length === 2;
    });
    assert.deepEqual([...(await listing(a))[0]!.urls].sort(), [a.url, b.url].sort());
    for (const file of ['kernel', 'initrd.gz'] as const) {
      const response = await bytes(b, `/api/v1/boot/coreos/images/4000.0.0/${file}`);
      assert.equal(response.status, 200);
      assert.ok(response.data.equals(image[file]), file);
      assert.ok(readData(dirs[1]!.path, `images/coreos/4000.0.0/${file}`).equals(image[file]));
    }
    assert.equal(await b.images.newestLocalImage(), '4000.0.0');
    const direct = await bytes(b, '/api/v1/assets/tools.img', { redirect: 'manual' });
    assert.equal(direct.status, 200);
    assert.ok(direct.data.equals(asset));
    assert.equal(direct.headers.get('x-sabakan-asset-sha256'), sha(asset));
    const partial = await bytes(b, '/api/v1/assets/tools.img', { headers: { range: 'bytes=100-199' } });
    assert.equal(partial.status, 206);
    assert.ok(partial.data.equals(asset.subarray(100, 200)));
  });

  it('follows changes while running: a new image and a replaced asset reach B, the old asset file goes', async () => {
    const second = { kernel: randomBytes(100_000), 'initrd.gz': randomBytes(200_000) };
    assert.equal((await call(a.url, 'PUT', '/api/v1/images/coreos/4001.0.0', gnuTar(second))).status, 201);
    const replacement = randomBytes(70_000);
    const put = await call(a.url, 'PUT', '/api/v1/assets/tools.img', replacement, { 'content-type': 'application/octet-stream' });
    assert.equal(put.status, 200);
    const id = (put.body as { id: number }).id;
    await eventually('B holds the second image', async () => (await b.images.newestLocalImage()) === '4001.0.0');
    assert.ok((await bytes(b, '/api/v1/boot/coreos/images/4001.0.0/initrd.gz')).data.equals(second['initrd.gz']));
    await eventually('B holds the new asset version', async () => (await assetInfo(b, 'tools.img')).exists);
    const response = await bytes(b, '/api/v1/assets/tools.img', { redirect: 'manual' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-sabakan-asset-id'), String(id));
    assert.ok(response.data.equals(replacement));
    await eventually(
      'B removed the old asset file',
      () =>
        filesUnder(dirs[1]!.path)
          .filter((f) => f.startsWith('assets/'))
          .join() === `assets/${id}`,
    );
  });

  it('an upload to B reaches A the same way', async () => {
    const third = { kernel: randomBytes(10_000), 'initrd.gz': randomBytes(20_000) };
    assert.equal((await call(b.url, 'PUT', '/api/v1/images/coreos/4002.0.0', gnuTar(third))).status, 201);
    await eventually('A holds the image uploaded to B', async () => (await a.images.newestLocalImage()) === '4002.0.0');
    assert.ok((await bytes(a, '/api/v1/boot/coreos/images/4002.0.0/kernel')).data.equals(third.kernel));
  });

  it('deletions on A remove B’s copies', async () => {
    assert.equal((await call(a.url, 'DELETE', '/api/v1/images/coreos/4000.0.0')).status, 200);
    assert.equal((await call(a.url, 'DELETE', '/api/v1/assets/tools.img')).status, 200);
    await eventually('B removed the deleted image', () => !existsSync(join(dirs[1]!.path, 'images/coreos/4000.0.0')));
    await eventually('B removed the deleted asset', () => filesUnder(dirs[1]!.path).every((f) => !f.startsWith('assets/')));
    assert.equal((await bytes(b, '/api/v1/boot/coreos/images/4000.0.0/kernel')).status, 404);
    assert.equal((await bytes(b, '/api/v1/assets/tools.img')).status, 404);
    // Nothing half-written anywhere: each data dir holds exactly the two remaining images.
    const expected = ['4001.0.0', '4002.0.0'].flatMap((id) =>
      ['SHA256SUMS', 'initrd.gz', 'kernel'].map((f) => `images/coreos/${id}/${f}`),
    );
    for (const dir of dirs) assert.deepEqual(filesUnder(dir.path), expected);
  });
});
