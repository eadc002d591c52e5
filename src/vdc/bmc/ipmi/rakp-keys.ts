/**
 * The RAKP key exchange's message authentication codes and the session keys
 * it yields (IPMI v2.0 sections 13.20–13.32). Every code is an HMAC with the
 * suite's hash; multi-byte numbers enter them little-endian, as on the wire.
 *
 *   RAKP 2 auth code  HMAC(Kuid; SIDm, SIDc, Rm, Rc, GUIDc, ROLEm, ULENGTHm, UNAMEm)   proves the BMC knows the password
 *   RAKP 3 auth code  HMAC(Kuid; Rc, SIDm, ROLEm, ULENGTHm, UNAMEm)                    proves the console does
 *   SIK               HMAC(Kg;   Rm, Rc, ROLEm, ULENGTHm, UNAMEm)                     Kg = Kuid: no BMC key is set
 *   RAKP 4 ICV        HMAC(SIK;  Rm, SIDc, GUIDc), truncated
 *   K1, K2            HMAC(SIK;  20 bytes of 01h / 02h)
 *
 * "m" is the remote console, "c" the managed system (this BMC). The RAKP 2
 * code lets anyone who knows a user name test password guesses offline; that
 * is the protocol's, and the reason to keep BMC networks private.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CipherSuite } from './cipher-suites.js';

/** What both sides know once RAKP 1 and 2 have been exchanged. */
export interface RakpExchange {
  consoleSessionId: number;
  bmcSessionId: number;
  consoleRandom: Buffer;
  bmcRandom: Buffer;
  bmcGuid: Buffer;
  /** The RAKP 1 role byte, whole: privilege level plus the name-only lookup bit. */
  role: number;
  username: Buffer;
}

export interface SessionKeys {
  sik: Buffer;
  /** Keys the integrity auth code of every in-session packet. */
  k1: Buffer;
  /** Its first 16 bytes are the AES-CBC-128 key. */
  k2: Buffer;
}

/** Kuid: the password as a key, right-padded with zeros to 20 bytes (spec section 13.31). */
export function userKey(password: string): Buffer {
  const key = Buffer.alloc(20);
  key.write(password, 'latin1');
  return key;
}

export function rakp2AuthCode(suite: CipherSuite, kuid: Buffer, x: RakpExchange): Buffer {
  return hmac(suite, kuid, [
    uint32(x.consoleSessionId),
    uint32(x.bmcSessionId),
    x.consoleRandom,
    x.bmcRandom,
    x.bmcGuid,
    Buffer.of(x.role, x.username.length),
    x.username,
  ]);
}

export function rakp3AuthCode(suite: CipherSuite, kuid: Buffer, x: RakpExchange): Buffer {
  return hmac(suite, kuid, [x.bmcRandom, uint32(x.consoleSessionId), Buffer.of(x.role, x.username.length), x.username]);
}

export function sessionKeys(suite: CipherSuite, kuid: Buffer, x: RakpExchange): SessionKeys {
  const sik = hmac(suite, kuid, [x.consoleRandom, x.bmcRandom, Buffer.of(x.role, x.username.length), x.username]);
  return { sik, k1: hmac(suite, sik, [Buffer.alloc(20, 0x01)]), k2: hmac(suite, sik, [Buffer.alloc(20, 0x02)]) };
}

export function rakp4IntegrityCheck(suite: CipherSuite, sik: Buffer, x: RakpExchange): Buffer {
  return hmac(suite, sik, [x.consoleRandom, uint32(x.bmcSessionId), x.bmcGuid]).subarray(0, suite.rakp4Length);
}

/** Compares a received code with the expected one in constant time; a length mismatch is simply false. */
export function codesMatch(received: Uint8Array, expected: Uint8Array): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}

function hmac(suite: CipherSuite, key: Buffer, parts: Uint8Array[]): Buffer {
  const mac = createHmac(suite.hash, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0);
  return out;
}
