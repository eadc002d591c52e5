/** The etcd backend with TLS client certificates and with user/password auth, against real etcd. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/factory.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { RunningYagura, runYagura, assertOneLine } from '../helpers/cli.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';

describe('etcd over TLS with client certificates', () => {
  const dir = tempDir('certs');
  let certs: TestCerts;
  let cluster: EtcdCluster;
  before(async () => {
    certs = makeCerts(dir.path);
    cluster = await EtcdCluster.start(1, {
      tls: {
        certFile: certs.serverCertFile,
        keyFile: certs.serverKeyFile,
        caFile: certs.caFile,
        clientCertAuth: true,
        clientCertFile: certs.clientCertFile,
        clientKeyFile: certs.clientKeyFile,
      },
    });
  });
  after(async () => {
    await cluster?.stop();
    dir.remove();
  });

  it('stores and reads over TLS with the right CA and client certificate', async () => {
    const store = await openStore({
      backend: 'etcd',
      endpoints: cluster.endpoints,
      prefix: '/tls/',
      caFile: certs.caFile,
      certFile: certs.clientCertFile,
      keyFile: certs.clientKeyFile,
    });
    try {
      await store.put('k', 'over tls');
      assert.equal((await store.get('k'))?.value, 'over tls');
    } finally {
      await store.close();
    }
    const port = await freePort();
    const server = new RunningYagura([
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--store',
      'etcd',
      '--etcd-endpoints',
      cluster.endpoints[0]!,
      '--etcd-cacert',
      certs.caFile,
      '--etcd-cert',
      certs.clientCertFile,
      '--etcd-key',
      certs.clientKeyFile,
    ]);
    try {
      await server.waitFor('"serving"');
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('fails with one line naming the TLS options when the CA is wrong or the client certificate is missing', async () => {
    const endpoint = cluster.endpoints[0]!;
    const wrongCa = await runYagura([
      'serve',
      '--store',
      'etcd',
      '--etcd-endpoints',
      endpoint,
      '--etcd-cacert',
      certs.otherCaFile,
      '--etcd-cert',
      certs.clientCertFile,
      '--etcd-key',
      certs.clientKeyFile,
    ]);
    assert.equal(wrongCa.code, 1);
    assertOneLine(
      wrongCa.stderr,
      new RegExp(`^yagura: TLS with etcd at ${endpoint} failed .*: check --etcd-cacert, --etcd-cert and --etcd-key$`),
    );

    const noClientCert = await runYagura([
      'serve',
      '--store',
      'etcd',
      '--etcd-endpoints',
      endpoint,
      '--etcd-cacert',
      certs.caFile,
    ]);
    assert.equal(noClientCert.code, 1);
    assertOneLine(noClientCert.stderr, /^yagura: (TLS with|cannot reach) etcd at .*(--etcd-cert|TLS)/);
  });
});

describe('etcd with user/password authentication', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await EtcdCluster.start(1);
    const etcdctl = (...args: string[]) =>
      execFileSync('etcdctl', [`--endpoints=${cluster.endpoints[0]}`, ...args], {
        stdio: 'pipe',
        env: { ...process.env, ETCDCTL_API: '3' },
      });
    etcdctl('user', 'add', 'root:s3cret');
    etcdctl('auth', 'enable');
  });
  after(async () => {
    await cluster?.stop();
  });

  it('serves with the right password (from the environment) and names the user when it is wrong', async () => {
    const port = await freePort();
    const args = ['serve', '--store', 'etcd', '--etcd-endpoints', cluster.endpoints[0]!, '--etcd-user', 'root'];
    const server = new RunningYagura([...args, '--listen', `127.0.0.1:${port}`], { YAGURA_ETCD_PASSWORD: 's3cret' });
    try {
      await server.waitFor('"serving"');
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
      assert.doesNotMatch(server.stdout + server.stderr, /s3cret/, 'the password is never logged');
    } finally {
      assert.equal(await server.stop(), 0);
    }

    const wrong = await runYagura([...args, '--listen', '127.0.0.1:0'], { env: { YAGURA_ETCD_PASSWORD: 'guess' } });
    assert.equal(wrong.code, 1);
    assertOneLine(
      wrong.stderr,
      /^yagura: etcd at .* refused user root \(authentication failed\): check --etcd-user and the password$/,
    );
    assert.doesNotMatch(wrong.stderr, /guess/);

    const missing = await runYagura([...args, '--listen', '127.0.0.1:0'], { env: { YAGURA_ETCD_PASSWORD: '' } });
    assert.equal(missing.code, 1);
    assertOneLine(missing.stderr, /etcd user root has no password: set YAGURA_ETCD_PASSWORD/);
  });
});
