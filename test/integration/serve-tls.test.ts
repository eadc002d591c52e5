/** yagura serve with TLS: disk keys only over HTTPS, the rest on both listeners. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call } from '../helpers/api-server.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { RunningYagura, runYagura } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

function https(url: string, method: string, ca: Buffer, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('yagura serve with --tls-cert', () => {
  const dir = tempDir('serve-tls');
  let certs: TestCerts;
  let server: RunningYagura;
  let http: string;
  let secure: string;

  before(async () => {
    certs = makeCerts(dir.path);
    const [p1, p2] = [await freePort(), await freePort()];
    http = `http://127.0.0.1:${p1}`;
    secure = `https://127.0.0.1:${p2}`;
    server = new RunningYagura([
      'serve',
      '--data-dir',
      join(dir.path, 'data'),
      '--listen',
      `127.0.0.1:${p1}`,
      '--tls-listen',
      `127.0.0.1:${p2}`,
      '--tls-cert',
      certs.serverCertFile,
      '--tls-key',
      certs.serverKeyFile,
    ]);
    await server.waitFor('"serving"');
  });
  after(async () => {
    assert.equal(await server?.stop(), 0);
    dir.remove();
  });

  it('serves disk keys only on the HTTPS listener', async () => {
    const ca = readFileSync(certs.caFile);
    assert.equal((await call(http, 'PUT', '/api/v1/config/ipam', EXAMPLE_IPAM)).status, 200);
    assert.equal(
      (await call(http, 'POST', '/api/v1/machines', [{ serial: 'tls-1', rack: 0, role: 'worker', bmc: { type: 'IPMI-2.0' } }]))
        .status,
      201,
    );
    const plain = await call(http, 'PUT', '/api/v1/crypts/tls-1/k1', Buffer.from('secret'));
    assert.equal(plain.status, 404);
    assert.match((plain.body as { error: string }).error, /only on the TLS listener/);
    assert.equal((await https(`${secure}/api/v1/crypts/tls-1/k1`, 'PUT', ca, Buffer.from('secret'))).status, 201);
    const fetched = await https(`${secure}/api/v1/crypts/tls-1/k1`, 'GET', ca);
    assert.equal(fetched.status, 200);
    assert.equal(fetched.body.toString(), 'secret');
    // The rest of the API answers on both.
    assert.equal((await https(`${secure}/api/v1/state/tls-1`, 'GET', ca)).body.toString(), 'uninitialized');
    assert.doesNotMatch(server.stdout, /secret/, 'keys never reach the log');
  });

  it('refuses bad TLS files with one line', async () => {
    const garbage = join(dir.path, 'garbage.pem');
    writeFileSync(garbage, 'not pem');
    const args = ['serve', '--data-dir', join(dir.path, 'bad'), '--listen', '127.0.0.1:0', '--tls-listen', '127.0.0.1:0'];
    let result = await runYagura([...args, '--tls-cert', garbage, '--tls-key', certs.serverKeyFile]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr.trim(),
      /^yagura: --tls-cert\/--tls-key: .*: give a PEM certificate and its matching private key$/,
    );
    result = await runYagura([...args, '--tls-cert', certs.serverCertFile, '--tls-key', certs.clientKeyFile]);
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim(), /^yagura: --tls-cert\/--tls-key: .*key values mismatch/);
    result = await runYagura([...args, '--tls-cert', certs.serverCertFile]);
    assert.equal(result.code, 2);
    assert.match(result.stderr.trim(), /--tls-cert and --tls-key go together/);
  });
});
