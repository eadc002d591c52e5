/** `yagura serve` as a user runs it: health, version, clean stop, and one clear line for every bad set-up. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { RunningYagura, runYagura, assertOneLine } from '../helpers/cli.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';

describe('yagura serve', () => {
  const dir = tempDir('serve');
  after(() => dir.remove());

  it('serves /health and /version from the embedded store and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const server = new RunningYagura(['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir.path, 'ok')]);
    try {
      await server.waitFor('"serving"');
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      assert.equal(health.status, 200);
      // The revision grows as the daemons start (the repair queue's election writes its key): any is fine.
      const body = (await health.json()) as { status: string; store: { backend: string; revision: number } };
      assert.deepEqual(body, { status: 'ok', store: { backend: 'embedded', revision: body.store.revision } });
      assert.ok(Number.isInteger(body.store.revision) && body.store.revision >= 1);
      const version = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { version: string };
      assert.match(version.version, /^\d+\.\d+\.\d+/);
      // Logs are JSON, one event per line.
      for (const line of server.stdout.trim().split('\n')) JSON.parse(line);
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0);
    }
  });

  it('refuses a second process on the same data dir with one actionable line', async () => {
    const port = await freePort();
    const dataDir = join(dir.path, 'shared');
    const first = new RunningYagura(['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir]);
    try {
      await first.waitFor('"serving"');
      const second = await runYagura(['serve', '--listen', `127.0.0.1:${await freePort()}`, '--data-dir', dataDir]);
      assert.equal(second.code, 1);
      assertOneLine(second.stderr, new RegExp(`data dir ${dataDir} is in use by another process \\(pid ${first.child.pid} `));
      // The first server is unharmed.
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
    } finally {
      assert.equal(await first.stop(), 0);
    }
  });

  it('refuses a data dir holding a foreign, an unrelated SQLite or a corrupt file', async () => {
    const foreign = join(dir.path, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'store.db'), 'these are my notes, not a database\n');
    let result = await runYagura(['serve', '--listen', '127.0.0.1:0', '--data-dir', foreign]);
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /store\.db is not a Yagura store \(not an SQLite database\): move the file away/);

    const otherDb = join(dir.path, 'other-sqlite');
    mkdirSync(otherDb);
    const db = new Database(join(otherDb, 'store.db'));
    db.exec('CREATE TABLE invoices (id INTEGER)');
    db.close();
    result = await runYagura(['serve', '--listen', '127.0.0.1:0', '--data-dir', otherDb]);
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /is an SQLite database but not a Yagura store \(it holds the tables invoices\)/);

    const corrupt = join(dir.path, 'corrupt');
    mkdirSync(corrupt);
    writeFileSync(join(corrupt, 'store.db'), Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4080, 0xa5)]));
    result = await runYagura(['serve', '--listen', '127.0.0.1:0', '--data-dir', corrupt]);
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /store\.db is corrupt .*: restore it from a backup or move it away/);

    const fileAsDir = join(dir.path, 'a-file');
    writeFileSync(fileAsDir, '');
    result = await runYagura(['serve', '--listen', '127.0.0.1:0', '--data-dir', fileAsDir]);
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /is a file, not a directory/);
  });

  it('rejects bad flags with exit code 2', async () => {
    let result = await runYagura(['serve', '--listen', 'nowhere', '--data-dir', join(dir.path, 'flags')]);
    assert.equal(result.code, 2);
    assertOneLine(result.stderr, /--listen "nowhere" is not HOST:PORT/);
    result = await runYagura(['serve', '--store', 'mysql']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /argument 'mysql' is invalid/);
    result = await runYagura(['serve', '--store', 'etcd']);
    assert.equal(result.code, 2);
    assertOneLine(result.stderr, /--store etcd needs --etcd-endpoints/);
  });
});

describe('yagura serve on etcd', () => {
  let cluster: EtcdCluster;
  const files = tempDir('serve-etcd');
  before(async () => {
    cluster = await EtcdCluster.start(1);
  });
  after(async () => {
    await cluster?.stop();
    files.remove();
  });

  it('reports healthy only while etcd answers', async () => {
    const port = await freePort();
    const server = new RunningYagura([
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--store',
      'etcd',
      '--etcd-endpoints',
      cluster.endpoints.join(','),
      '--etcd-prefix',
      '/serve-test/',
      '--data-dir',
      files.path,
    ]);
    try {
      await server.waitFor('"serving"');
      const healthy = await fetch(`http://127.0.0.1:${port}/health`);
      assert.equal(healthy.status, 200);
      assert.equal(((await healthy.json()) as { store: { backend: string } }).store.backend, 'etcd');
      await cluster.members[0]!.kill();
      const sick = await fetch(`http://127.0.0.1:${port}/health`);
      assert.equal(sick.status, 503);
      assert.equal(((await sick.json()) as { status: string }).status, 'unavailable');
    } finally {
      assert.equal(await server.stop(), 0);
      cluster.members[0]!.start();
      await cluster.members[0]!.waitHealthy();
    }
  });

  it('explains an unreachable etcd, a bad endpoint and bad TLS files in one line each', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    let result = await runYagura(['serve', '--listen', '127.0.0.1:0', '--store', 'etcd', '--etcd-endpoints', dead]);
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, new RegExp(`cannot reach etcd at ${dead} .*: check --etcd-endpoints and that etcd runs there`));

    result = await runYagura(['serve', '--store', 'etcd', '--etcd-endpoints', 'ftp://127.0.0.1:2379']);
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /must use http:\/\/ or https:\/\//);

    const endpoint = cluster.endpoints[0]!;
    result = await runYagura(['serve', '--store', 'etcd', '--etcd-endpoints', endpoint, '--etcd-cacert', '/nonexistent/ca.pem']);
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /--etcd-cacert \/nonexistent\/ca\.pem: cannot read it \(ENOENT\)/);

    const tls = tempDir('tls');
    try {
      const notPem = join(tls.path, 'ca.pem');
      writeFileSync(notPem, 'not a certificate');
      result = await runYagura(['serve', '--store', 'etcd', '--etcd-endpoints', endpoint, '--etcd-cacert', notPem]);
      assert.equal(result.code, 1);
      assertOneLine(result.stderr, /not a PEM file/);

      result = await runYagura(['serve', '--store', 'etcd', '--etcd-endpoints', endpoint, '--etcd-cert', notPem]);
      assert.equal(result.code, 1);
      assertOneLine(result.stderr, /--etcd-cert and --etcd-key go together/);
    } finally {
      tls.remove();
    }
  });

  it('with --store-wait, waits for an etcd that is not up yet, then serves', async () => {
    const member = cluster.members[0]!;
    await member.kill();
    const port = await freePort();
    const server = new RunningYagura([
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--store',
      'etcd',
      '--etcd-endpoints',
      cluster.endpoints.join(','),
      '--etcd-prefix',
      '/serve-wait/',
      '--data-dir',
      files.path,
      '--store-wait',
      '60s',
    ]);
    let restarted = false;
    try {
      await server.waitFor('waiting for the store: cannot reach etcd', 20_000);
      member.start();
      restarted = true;
      await member.waitHealthy();
      await server.waitFor('"serving"', 30_000);
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
    } finally {
      assert.equal(await server.stop(), 0);
      if (!restarted) member.start();
      await member.waitHealthy();
    }
  });

  it('with --store-wait, gives up on an unreachable etcd after that long, with the same one line', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const result = await runYagura(
      ['serve', '--listen', '127.0.0.1:0', '--store', 'etcd', '--etcd-endpoints', dead, '--store-wait', '3s'],
      { timeoutMs: 30_000 },
    );
    assert.equal(result.code, 1);
    assert.ok(Date.now() - started >= 3000, 'it kept trying for --store-wait');
    assert.match(result.stdout, /waiting for the store: cannot reach etcd/);
    assertOneLine(result.stderr, new RegExp(`cannot reach etcd at ${dead} .*: check --etcd-endpoints and that etcd runs there`));
  });
});
