/**
 * The RMCP+ crypto of the virtual BMC: RAKP auth codes against a published
 * vector (hashcat's example for mode 7300, "IPMI2 RAKP HMAC-SHA1") and
 * against the spec's formulas computed here byte by byte; SIK, K1, K2 and the
 * RAKP 4 check value likewise; per-packet integrity codes; AES-CBC-128 with
 * the IPMI pad, checked with node's AES directly.
 */
import assert from 'node:assert/strict';
import { createDecipheriv, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { CIPHER_SUITES, type CipherSuite } from '../../src/vdc/bmc/ipmi/cipher-suites.js';
import { decryptPayload, encryptPayload, integrityCode } from '../../src/vdc/bmc/ipmi/packet-protection.js';
import {
  codesMatch,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4IntegrityCheck,
  type RakpExchange,
  sessionKeys,
  userKey,
} from '../../src/vdc/bmc/ipmi/rakp-keys.js';

const suite = (id: number): CipherSuite => CIPHER_SUITES.find((s) => s.id === id)!;

describe('RAKP auth codes and session keys', () => {
  it('computes the RAKP 2 HMAC-SHA1 of hashcat\'s published IPMI2 RAKP example (password "hashcat")', () => {
    // hashcat mode 7300 example: salt = SIDm SIDc Rm Rc GUIDc ROLEm ULENGTHm UNAMEm, hash = HMAC-SHA1(password, salt).
    const salt = Buffer.from(
      'b7c2d6f1' +
        '3a43dce2' +
        'e44ad120a9cd8a13d0ca23f0414275c0' +
        'bbe1070d2d1299b1c04da0f1a0f1e4e2' +
        '537300263a2200000000000000000000' +
        '14' +
        '07' +
        '68617368636174',
      'hex',
    );
    const exchange: RakpExchange = {
      consoleSessionId: salt.readUInt32LE(0),
      bmcSessionId: salt.readUInt32LE(4),
      consoleRandom: salt.subarray(8, 24),
      bmcRandom: salt.subarray(24, 40),
      bmcGuid: salt.subarray(40, 56),
      role: 0x14,
      username: Buffer.from('hashcat'),
    };
    assert.equal(
      rakp2AuthCode(suite(3), userKey('hashcat'), exchange).toString('hex'),
      '472bdabe2d5d4bffd6add7b3ba79a291d104a9ef',
    );
  });

  for (const [id, hash, rakp4Length] of [
    [3, 'sha1', 12],
    [17, 'sha256', 16],
  ] as const) {
    it(`derives suite ${id}'s codes and keys as the spec's formulas say (HMAC-${hash.toUpperCase()})`, () => {
      const exchange: RakpExchange = {
        consoleSessionId: 0xa0a2a3a4,
        bmcSessionId: 0x01020304,
        consoleRandom: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
        bmcRandom: Buffer.from('ffeeddccbbaa99887766554433221100', 'hex'),
        bmcGuid: Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex'),
        role: 0x14,
        username: Buffer.from('cybozu'),
      };
      const password = Buffer.from('cybozu\0\0\0\0\0\0\0\0\0\0\0\0\0\0', 'latin1');
      const mac = (key: Buffer, hexParts: string) => createHmac(hash, key).update(Buffer.from(hexParts, 'hex')).digest();
      const tail = '14' + '06' + Buffer.from('cybozu').toString('hex');
      const rakp2 = mac(
        password,
        'a4a3a2a0' +
          '04030201' +
          '00112233445566778899aabbccddeeff' +
          'ffeeddccbbaa99887766554433221100' +
          '0f0e0d0c0b0a09080706050403020100' +
          tail,
      );
      const rakp3 = mac(password, 'ffeeddccbbaa99887766554433221100' + 'a4a3a2a0' + tail);
      const sik = mac(password, '00112233445566778899aabbccddeeff' + 'ffeeddccbbaa99887766554433221100' + tail);
      const k1 = mac(sik, '01'.repeat(20));
      const k2 = mac(sik, '02'.repeat(20));
      const rakp4 = mac(sik, '00112233445566778899aabbccddeeff' + '04030201' + '0f0e0d0c0b0a09080706050403020100').subarray(
        0,
        rakp4Length,
      );

      const kuid = userKey('cybozu');
      assert.deepEqual(kuid, password);
      assert.deepEqual(rakp2AuthCode(suite(id), kuid, exchange), rakp2);
      assert.deepEqual(rakp3AuthCode(suite(id), kuid, exchange), rakp3);
      const keys = sessionKeys(suite(id), kuid, exchange);
      assert.deepEqual(keys, { sik, k1, k2 });
      assert.equal(keys.sik.length, hash === 'sha1' ? 20 : 32);
      assert.deepEqual(rakp4IntegrityCheck(suite(id), keys.sik, exchange), rakp4);
      // A different password or role gives a different RAKP 3 code.
      assert.notDeepEqual(rakp3AuthCode(suite(id), userKey('cybozu2'), exchange), rakp3);
      assert.notDeepEqual(rakp3AuthCode(suite(id), kuid, { ...exchange, role: 0x04 }), rakp3);
    });
  }

  it('compares codes in constant time and treats a length mismatch as a mismatch', () => {
    assert.equal(codesMatch(Buffer.of(1, 2, 3), Buffer.of(1, 2, 3)), true);
    assert.equal(codesMatch(Buffer.of(1, 2, 3), Buffer.of(1, 2, 4)), false);
    assert.equal(codesMatch(Buffer.of(1, 2), Buffer.of(1, 2, 3)), false);
  });
});

describe('packet integrity and confidentiality', () => {
  const keys = {
    sik: Buffer.alloc(20, 9),
    k1: Buffer.from('000102030405060708090a0b0c0d0e0f10111213', 'hex'),
    k2: Buffer.from('f0e0d0c0b0a090807060504030201000ffeeddcc', 'hex'),
  };

  it('signs with HMAC(K1) truncated to 12 bytes (SHA1-96) or 16 bytes (SHA256-128)', () => {
    const data = Buffer.from('0600000000000000');
    assert.deepEqual(integrityCode(suite(3), keys, data), createHmac('sha1', keys.k1).update(data).digest().subarray(0, 12));
    assert.deepEqual(integrityCode(suite(17), keys, data), createHmac('sha256', keys.k1).update(data).digest().subarray(0, 16));
  });

  it('encrypts with a leading IV and the pad 01h 02h … n, n, under the first 16 bytes of K2', () => {
    for (let length = 0; length <= 40; length++) {
      const payload = Buffer.from(Array.from({ length }, (_, i) => (i * 7) & 0xff));
      const iv = Buffer.alloc(16, length);
      const sealed = encryptPayload(keys, iv, payload);
      assert.deepEqual(sealed.subarray(0, 16), iv);
      assert.equal(sealed.length, 16 + Math.ceil((length + 1) / 16) * 16);
      const decipher = createDecipheriv('aes-128-cbc', keys.k2.subarray(0, 16), iv).setAutoPadding(false);
      const plain = Buffer.concat([decipher.update(sealed.subarray(16)), decipher.final()]);
      const padLength = plain[plain.length - 1]!;
      assert.deepEqual(plain.subarray(0, length), payload);
      assert.equal(padLength, plain.length - 1 - length);
      assert.deepEqual(
        [...plain.subarray(length, length + padLength)],
        Array.from({ length: padLength }, (_, i) => i + 1),
      );
      assert.deepEqual(decryptPayload(keys, sealed), payload);
    }
  });

  it('refuses ciphertexts that are not IV + whole blocks or whose pad is wrong', () => {
    const sealed = encryptPayload(keys, Buffer.alloc(16, 1), Buffer.from('an IPMI message'));
    assert.equal(decryptPayload(keys, sealed.subarray(0, 16)), undefined);
    assert.equal(decryptPayload(keys, Buffer.concat([sealed, Buffer.alloc(8)])), undefined);
    // 15 bytes + the pad-length byte fill one block: flipping IV bits flips the same plaintext bits.
    const tampered = Buffer.from(sealed);
    tampered[15]! ^= 0x03; // pad length now says 3, but the bytes before it are "age", not 01 02 03
    assert.equal(decryptPayload(keys, tampered), undefined);
    tampered[15]! ^= 0x03 ^ 0x10; // pad length 16: longer than a block
    assert.equal(decryptPayload(keys, tampered), undefined);
  });
});
