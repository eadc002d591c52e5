/**
 * The RMCP+ cipher suites this BMC offers (spec section 22.15.2, table 22-20):
 * 17 (RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128) first, then 3
 * (RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128), the one the spec makes
 * mandatory. Everything weaker — no authentication, no integrity, no
 * encryption, MD5, xRC4 — is refused: a session here can power machines off.
 */
import { RakpStatus } from './protocol.js';

export const AuthAlgorithm = { RAKP_NONE: 0x00, RAKP_HMAC_SHA1: 0x01, RAKP_HMAC_MD5: 0x02, RAKP_HMAC_SHA256: 0x03 } as const;
export const IntegrityAlgorithm = {
  NONE: 0x00,
  HMAC_SHA1_96: 0x01,
  HMAC_MD5_128: 0x02,
  MD5_128: 0x03,
  HMAC_SHA256_128: 0x04,
} as const;
export const ConfidentialityAlgorithm = { NONE: 0x00, AES_CBC_128: 0x01, XRC4_128: 0x02, XRC4_40: 0x03 } as const;

export interface CipherSuite {
  id: number;
  authentication: number;
  integrity: number;
  confidentiality: number;
  /** The hash of every HMAC in the suite: RAKP auth codes, SIK, K1, K2 and the integrity codes. */
  hash: 'sha1' | 'sha256';
  /** Bytes of the RAKP 4 integrity check value (the HMAC truncated). */
  rakp4Length: number;
  /** Bytes of the auth code in every in-session packet's trailer. */
  authCodeLength: number;
}

export const CIPHER_SUITES: readonly CipherSuite[] = [
  {
    id: 17,
    authentication: AuthAlgorithm.RAKP_HMAC_SHA256,
    integrity: IntegrityAlgorithm.HMAC_SHA256_128,
    confidentiality: ConfidentialityAlgorithm.AES_CBC_128,
    hash: 'sha256',
    rakp4Length: 16,
    authCodeLength: 16,
  },
  {
    id: 3,
    authentication: AuthAlgorithm.RAKP_HMAC_SHA1,
    integrity: IntegrityAlgorithm.HMAC_SHA1_96,
    confidentiality: ConfidentialityAlgorithm.AES_CBC_128,
    hash: 'sha1',
    rakp4Length: 12,
    authCodeLength: 12,
  },
];

export interface AlgorithmProposal {
  authentication: number;
  integrity: number;
  confidentiality: number;
}

/**
 * The suite an Open Session Request's algorithms name, or the RMCP+ status
 * that refuses it: an algorithm no offered suite uses is named as such; known
 * algorithms in a combination we do not offer get "no cipher suite match".
 */
export function chooseCipherSuite(proposal: AlgorithmProposal): CipherSuite | { refused: number } {
  const suite = CIPHER_SUITES.find(
    (s) =>
      s.authentication === proposal.authentication &&
      s.integrity === proposal.integrity &&
      s.confidentiality === proposal.confidentiality,
  );
  if (suite) return suite;
  if (!CIPHER_SUITES.some((s) => s.authentication === proposal.authentication))
    return { refused: RakpStatus.INVALID_AUTHENTICATION_ALGORITHM };
  if (!CIPHER_SUITES.some((s) => s.integrity === proposal.integrity)) return { refused: RakpStatus.INVALID_INTEGRITY_ALGORITHM };
  if (!CIPHER_SUITES.some((s) => s.confidentiality === proposal.confidentiality))
    return { refused: RakpStatus.INVALID_CONFIDENTIALITY_ALGORITHM };
  return { refused: RakpStatus.NO_CIPHER_SUITE_MATCH };
}

/**
 * The cipher suite records Get Channel Cipher Suites lists (spec table 22-19):
 * start-of-record C0h, the suite ID, then the algorithms tagged 00b / 01b / 10b
 * in their top two bits.
 */
export function cipherSuiteRecords(): Buffer {
  return Buffer.from(CIPHER_SUITES.flatMap((s) => [0xc0, s.id, s.authentication, 0x40 | s.integrity, 0x80 | s.confidentiality]));
}

/** The same algorithms listed once each, without suite IDs (the request's "list supported algorithms" form). */
export function supportedAlgorithms(): Buffer {
  const tagged = CIPHER_SUITES.flatMap((s) => [s.authentication, 0x40 | s.integrity, 0x80 | s.confidentiality]);
  return Buffer.from([...new Set(tagged)]);
}
