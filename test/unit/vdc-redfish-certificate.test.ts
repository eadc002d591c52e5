/** When a BMC's existing certificate is kept and when it is made again (no openssl here; see vdc-redfish for that). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { certificateMismatch, type CertificateFacts } from '../../src/vdc/bmc/certificate.js';

const now = new Date('2026-01-01T00:00:00Z');

function facts(overrides: Partial<CertificateFacts> & { ips?: string[] } = {}): CertificateFacts {
  const ips = overrides.ips ?? ['10.72.0.5'];
  return {
    subject: 'CN=10.72.0.5',
    subjectAltName: ips.map((ip) => `IP Address:${ip}`).join(', '),
    validTo: 'Dec 30 00:00:00 2035 GMT',
    publicKeyType: 'ec',
    namedCurve: 'prime256v1',
    checkIP: (ip) => (ips.includes(ip) ? ip : undefined),
    ...overrides,
  };
}

const wanted = { commonName: '10.72.0.5', ipAddresses: ['10.72.0.5'] };

describe('BMC certificate reuse', () => {
  it('keeps a certificate that fits', () => {
    assert.equal(certificateMismatch(facts(), true, wanted, now), undefined);
    assert.equal(
      certificateMismatch(
        facts({ ips: ['10.72.0.5', '10.72.1.5'] }),
        true,
        { ...wanted, ipAddresses: ['10.72.1.5', '10.72.0.5'] },
        now,
      ),
      undefined,
      'the order of addresses does not matter',
    );
  });

  it('replaces one with another CN or other addresses', () => {
    assert.match(certificateMismatch(facts({ subject: 'CN=old' }), true, wanted, now)!, /CN is old/);
    assert.match(certificateMismatch(facts({ ips: ['10.72.0.6'] }), true, wanted, now)!, /addresses/);
    assert.match(
      certificateMismatch(facts({ ips: ['10.72.0.5', '10.72.0.6'] }), true, wanted, now)!,
      /addresses/,
      'an extra address',
    );
    assert.match(certificateMismatch(facts({ subjectAltName: undefined }), true, wanted, now)!, /none/);
  });

  it('replaces one with another key type, a foreign key, or little time left', () => {
    assert.match(certificateMismatch(facts({ publicKeyType: 'rsa', namedCurve: undefined }), true, wanted, now)!, /P-256/);
    assert.match(certificateMismatch(facts(), false, wanted, now)!, /key file does not belong/);
    assert.match(certificateMismatch(facts({ validTo: 'Jan 20 00:00:00 2026 GMT' }), true, wanted, now)!, /expires/);
    assert.equal(certificateMismatch(facts({ validTo: 'Mar 20 00:00:00 2026 GMT' }), true, wanted, now), undefined);
  });
});
