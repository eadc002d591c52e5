/**
 * A VM node's volumes and the image cache (src/vdc/host/volumes.ts, images.ts)
 * with the real qemu-img: formats and sizes, reuse across runs, copy-on-write
 * overlays, decompression, downloads from a local HTTP server on 127.0.0.1
 * (nothing from the Internet), and the errors a user gets.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { UserError } from '../../src/lib/errors.js';
import { ImageCache, type ImageProgress } from '../../src/vdc/host/images.js';
import { prepareVolumes } from '../../src/vdc/host/volumes.js';
import { parseTopology, type Topology, type VmNode } from '../../src/vdc/spec/index.js';
import { tempDir } from '../helpers/temp.js';

let dir: { path: string; remove: () => void };
before(() => {
  dir = tempDir('vdc-volumes');
});
after(() => dir?.remove());

function topology(...yaml: string[]): Topology {
  return parseTopology([{ path: join(dir.path, 'cluster.yml'), text: yaml.join('\n') + '\n' }]);
}

function qemuImgInfo(path: string): Record<string, unknown> {
  return JSON.parse(execFileSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8' })) as Record<string, unknown>;
}

/** A UserError whose message contains every given part. */
const userError =
  (...parts: string[]) =>
  (error: unknown) => {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    for (const part of parts) assert.ok(error.message.includes(part), `"${error.message}" should mention "${part}"`);
    return true;
  };

describe('volumes', () => {
  it('makes raw volumes in qcow2 or raw format once, and reuses them on the next run', async () => {
    const data = join(dir.path, 'raw-data');
    const { nodes } = topology(
      'kind: Node',
      'name: n1',
      'cpu: 1',
      'volumes:',
      '  - {kind: raw, name: a, size: 1G}',
      '  - {kind: raw, name: b, size: 8M, format: raw, cache: writeback}',
    );
    const node = nodes[0] as VmNode;
    // A leftover of an interrupted earlier run must not survive, nor be taken for the disk.
    mkdirSync(join(data, 'volumes', 'n1'), { recursive: true });
    writeFileSync(join(data, 'volumes', 'n1', 'a.img.tmp-99999-deadbeef'), 'half a disk');

    const context = { dataDir: data, images: new ImageCache({ cacheDir: join(dir.path, 'cache'), images: [] }) };
    const attached = await prepareVolumes(node, context);
    const [a, b] = [join(data, 'volumes', 'n1', 'a.img'), join(data, 'volumes', 'n1', 'b.img')];
    assert.deepEqual(attached, [
      { kind: 'disk', name: 'a', path: a, format: 'qcow2', cache: 'none' },
      { kind: 'disk', name: 'b', path: b, format: 'raw', cache: 'writeback' },
    ]);
    assert.deepEqual(readdirSync(join(data, 'volumes', 'n1')).sort(), ['a.img', 'b.img']);
    assert.deepEqual([qemuImgInfo(a).format, qemuImgInfo(a)['virtual-size']], ['qcow2', 2 ** 30]);
    assert.deepEqual([qemuImgInfo(b).format, statSync(b).size], ['raw', 8 * 2 ** 20]);

    writeFileSync(b, 'data the guest wrote', { flag: 'r+' });
    const before = [statSync(a).ino, statSync(b).ino];
    assert.deepEqual(await prepareVolumes(node, context), attached);
    assert.deepEqual([statSync(a).ino, statSync(b).ino], before);
    assert.equal(readFileSync(b).subarray(0, 20).toString(), 'data the guest wrote');
  });

  it('makes image volumes as a qcow2 overlay on the cached image or as a full copy, in a DeviceClass directory when asked', async () => {
    const rawImage = join(dir.path, 'base.raw');
    const qcowImage = join(dir.path, 'base.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', rawImage, '4M']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcowImage, '16M']);
    const fast = join(dir.path, 'fast-disks');
    const { nodes, images, deviceClasses } = topology(
      'kind: Image',
      'name: raw-image',
      'file: base.raw',
      '---',
      'kind: Image',
      'name: qcow-image',
      'file: base.qcow2',
      '---',
      'kind: DeviceClass',
      'name: fast',
      `path: ${fast}`,
      '---',
      'kind: Node',
      'name: n2',
      'cpu: 1',
      'volumes:',
      '  - {kind: image, name: root, image: raw-image, copy-on-write: true}',
      '  - {kind: image, name: copy, image: qcow-image, device-class: fast}',
      `  - {kind: hostPath, name: share, path: ${join(dir.path, 'share', 'deep')}}`,
    );
    const data = join(dir.path, 'image-data');
    const attached = await prepareVolumes(nodes[0] as VmNode, {
      dataDir: data,
      deviceClasses,
      images: new ImageCache({ cacheDir: join(dir.path, 'cache'), images }),
    });
    const [root, copy] = [join(data, 'volumes', 'n2', 'root.img'), join(fast, 'volumes', 'n2', 'copy.img')];
    assert.deepEqual(attached, [
      { kind: 'disk', name: 'root', path: root, format: 'qcow2', cache: 'none' },
      { kind: 'disk', name: 'copy', path: copy, format: 'qcow2', cache: 'none' },
      { kind: 'hostPath', name: 'share', path: join(dir.path, 'share', 'deep'), writable: false },
    ]);
    const overlay = qemuImgInfo(root);
    assert.equal(overlay['backing-filename'], rawImage);
    assert.equal(overlay['backing-filename-format'], 'raw', 'the backing format is probed and recorded');
    assert.equal(overlay['virtual-size'], 4 * 2 ** 20);
    assert.deepEqual(readFileSync(copy), readFileSync(qcowImage), 'a full copy');
    assert.ok(statSync(join(dir.path, 'share', 'deep')).isDirectory(), 'hostPath directories are created');
  });

  it('gives clear errors: a missing image file, a missing user-data file, no cloud-localds', async () => {
    const { nodes, images } = topology(
      'kind: Image',
      'name: gone',
      'file: does-not-exist.img',
      '---',
      'kind: Node',
      'name: n3',
      'cpu: 1',
      'volumes: [{kind: image, name: root, image: gone}]',
      '---',
      'kind: Node',
      'name: n4',
      'cpu: 1',
      'volumes: [{kind: localds, name: seed, user-data: user-data.yml}]',
    );
    const context = {
      dataDir: join(dir.path, 'error-data'),
      images: new ImageCache({ cacheDir: join(dir.path, 'cache'), images }),
    };
    await assert.rejects(
      prepareVolumes(nodes[0] as VmNode, context),
      userError('image gone', `${dir.path}/does-not-exist.img does not exist`, 'cluster.yml:1:1'),
    );
    await assert.rejects(
      prepareVolumes(nodes[1] as VmNode, context),
      userError('volume seed of node n4', `${dir.path}/user-data.yml does not exist`),
    );
    writeFileSync(join(dir.path, 'user-data.yml'), '#cloud-config\n');
    const emptyPath = join(dir.path, 'empty-bin');
    mkdirSync(emptyPath);
    await assert.rejects(
      prepareVolumes(nodes[1] as VmNode, { ...context, searchPath: [emptyPath] }),
      userError('needs cloud-localds', 'install the Debian package cloud-image-utils'),
    );
    assert.equal(existsSync(join(dir.path, 'error-data', 'volumes', 'n4', 'seed.img')), false);
  });
});

describe('image cache', () => {
  const content = randomBytes(3 * 2 ** 20);
  let server: Server;
  let base: string;
  const requests: string[] = [];

  before(async () => {
    server = createServer((request, response) => {
      requests.push(request.url!);
      if (request.url === '/disk.img') {
        response.writeHead(200, { 'content-length': content.length });
        response.end(content);
      } else if (request.url === '/disk.img.gz') {
        response.end(gzipSync(content));
      } else if (request.url === '/short.img') {
        // Promises more than it sends, then hangs up: an interrupted download.
        response.writeHead(200, { 'content-length': content.length });
        response.write(content.subarray(0, 1000), () => response.destroy());
      } else {
        response.writeHead(404).end('not here');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('uses a plain file in place and decompresses gzip and bzip2 files into the cache once', async () => {
    const plain = join(dir.path, 'plain.img');
    writeFileSync(plain, content);
    writeFileSync(`${plain}.gz`, gzipSync(content));
    writeFileSync(`${plain}.bz2`, execFileSync('bzip2', ['-c'], { input: content, maxBuffer: 64 << 20 }));
    const { images } = topology(
      ...['kind: Image', 'name: plain', 'file: plain.img', '---'],
      ...['kind: Image', 'name: gz', 'file: plain.img.gz', 'compression: gzip', '---'],
      ...['kind: Image', 'name: bz', 'file: plain.img.bz2', 'compression: bzip2'],
    );
    const cacheDir = join(dir.path, 'file-cache');
    const cache = new ImageCache({ cacheDir, images });
    assert.equal(await cache.path('plain'), plain);
    const [gz, bz] = await Promise.all([cache.path('gz'), cache.path('bz')]);
    for (const path of [gz, bz]) {
      assert.ok(path.startsWith(join(cacheDir, 'images')));
      assert.deepEqual(readFileSync(path), content);
    }
    const made = statSync(gz).mtimeMs;
    assert.equal(await new ImageCache({ cacheDir, images }).path('gz'), gz, 'found in the cache by a later run');
    assert.equal(statSync(gz).mtimeMs, made, 'not decompressed again');
    assert.deepEqual(readdirSync(join(cacheDir, 'images')).length, 2, 'no temporary files left');
  });

  it('downloads a URL once into <cache>/images/<sha256(url)>, reporting progress', async () => {
    const { images } = topology(
      ...['kind: Image', 'name: remote', `url: ${base}/disk.img`, '---'],
      ...['kind: Image', 'name: packed', `url: ${base}/disk.img.gz`, 'compression: gzip'],
    );
    const cacheDir = join(dir.path, 'url-cache');
    const progress: ImageProgress[] = [];
    const cache = new ImageCache({ cacheDir, images, onProgress: (p) => progress.push(p) });
    const [first, again] = await Promise.all([cache.path('remote'), cache.path('remote')]);
    assert.equal(first, again);
    const sha = execFileSync('sha256sum', { input: `${base}/disk.img`, encoding: 'utf8' }).split(' ')[0];
    assert.equal(first, join(cacheDir, 'images', sha!));
    assert.deepEqual(readFileSync(first), content);
    assert.deepEqual(progress.at(-1), { image: 'remote', receivedBytes: content.length, totalBytes: content.length });
    assert.ok(progress.length >= 3, `progress reported along the way (${progress.length} times)`);
    assert.deepEqual(readFileSync(await cache.path('packed')), content, 'decompressed on the way');

    const before = requests.length;
    assert.equal(await new ImageCache({ cacheDir, images }).path('remote'), first);
    assert.equal(requests.length, before, 'a later run does not download again');
  });

  it('fails clearly on HTTP errors and interrupted downloads, leaving nothing in the cache', async () => {
    const { images } = topology(
      ...['kind: Image', 'name: missing', `url: ${base}/nothing.img`, '---'],
      ...['kind: Image', 'name: short', `url: ${base}/short.img`],
    );
    const cacheDir = join(dir.path, 'bad-cache');
    const cache = new ImageCache({ cacheDir, images });
    await assert.rejects(cache.path('missing'), userError('image missing', `${base}/nothing.img`, 'HTTP 404 Not Found'));
    await assert.rejects(cache.path('short'), userError('image short', `downloading ${base}/short.img failed`));
    assert.deepEqual(existsSync(join(cacheDir, 'images')) ? readdirSync(join(cacheDir, 'images')) : [], []);
    await assert.rejects(cache.path('nope'), userError('unknown image "nope"'));
  });
});
