/** A throw-away CA with server and client certificates for 127.0.0.1, made with openssl. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCerts {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A CA that signed nothing here: trusting it must fail the handshake. */
  otherCaFile: string;
}

export function makeCerts(dir: string): TestCerts {
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      f(`${ca}.key`),
      '-out',
      f(`${ca}.pem`),
      '-days',
      '2',
      '-subj',
      `/CN=yagura-test-${ca}`,
    );
  }
  const sign = (name: string, cn: string, extensions: string) => {
    writeFileSync(f(`${name}.ext`), extensions);
    openssl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    openssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
    );
  };
  sign('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  sign('client', 'yagura', 'extendedKeyUsage=clientAuth\n');
  return {
    caFile: f('ca.pem'),
    serverCertFile: f('server.pem'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client.key'),
    otherCaFile: f('other-ca.pem'),
  };
}
