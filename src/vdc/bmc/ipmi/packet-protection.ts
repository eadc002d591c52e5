/**
 * How an RMCP+ session protects each packet once RAKP is done (IPMI v2.0
 * sections 13.28–13.29): an integrity auth code, HMAC(K1) over the session
 * header, payload and trailer, truncated to the suite's length; and the
 * payload encrypted with AES-CBC-128 under the first 16 bytes of K2 — a
 * random IV first, then the data padded with 01h 02h 03h … and a pad-length
 * byte to a whole number of blocks.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import type { CipherSuite } from './cipher-suites.js';
import type { SessionKeys } from './rakp-keys.js';
import type { Signer } from './session-v20.js';

const BLOCK = 16;

export function integritySigner(suite: CipherSuite, keys: SessionKeys): Signer {
  return { authCodeLength: suite.authCodeLength, sign: (data) => integrityCode(suite, keys, data) };
}

export function integrityCode(suite: CipherSuite, keys: SessionKeys, data: Uint8Array): Buffer {
  return createHmac(suite.hash, keys.k1).update(data).digest().subarray(0, suite.authCodeLength);
}

/** `iv` must be 16 fresh random bytes. */
export function encryptPayload(keys: SessionKeys, iv: Buffer, payload: Uint8Array): Buffer {
  if (iv.length !== BLOCK) throw new RangeError(`an AES-CBC-128 IV is ${BLOCK} bytes, not ${iv.length}`);
  const padLength = (BLOCK - ((payload.length + 1) % BLOCK)) % BLOCK;
  const plain = Buffer.alloc(payload.length + padLength + 1);
  plain.set(payload);
  for (let i = 1; i <= padLength; i++) plain[payload.length + i - 1] = i;
  plain[plain.length - 1] = padLength;
  const cipher = createCipheriv('aes-128-cbc', keys.k2.subarray(0, 16), iv).setAutoPadding(false);
  return Buffer.concat([iv, cipher.update(plain), cipher.final()]);
}

/** The payload, or undefined when the bytes are not IV + whole blocks or the pad is not 01h 02h … n, n. */
export function decryptPayload(keys: SessionKeys, encrypted: Uint8Array): Buffer | undefined {
  if (encrypted.length < 2 * BLOCK || encrypted.length % BLOCK !== 0) return undefined;
  const decipher = createDecipheriv('aes-128-cbc', keys.k2.subarray(0, 16), encrypted.subarray(0, BLOCK)).setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(encrypted.subarray(BLOCK)), decipher.final()]);
  const padLength = plain[plain.length - 1]!;
  if (padLength >= BLOCK) return undefined;
  const length = plain.length - 1 - padLength;
  for (let i = 1; i <= padLength; i++) if (plain[length + i - 1] !== i) return undefined;
  return plain.subarray(0, length);
}
