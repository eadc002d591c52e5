/**
 * The self-signed certificate a virtual BMC serves HTTPS with, as a real BMC
 * ships one from the factory. It is made once per BMC with the openssl CLI and
 * kept, so clients that pinned it (curl --cacert) keep working across DC
 * restarts; it is made again only when it no longer fits the BMC (another
 * address, expiring, or a key that does not belong to it).
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface CertificateSubject {
  /** The subject CN; the BMC's address or name. */
  commonName: string;
  /** Every address clients reach the BMC at; each becomes an IP subjectAltName. */
  ipAddresses: string[];
}

export interface CertificateFiles {
  /** PEM certificate: what clients trust with --cacert. */
  cert: string;
  /** PEM private key, mode 0600. */
  key: string;
}

export interface EnsureOptions {
  /** The openssl binary (default: openssl from PATH). */
  openssl?: string;
  now?: Date;
}

/** 10 years, like a BMC's factory certificate. */
export const VALIDITY_DAYS = 3650;
/** A certificate this close to its end is replaced rather than reused. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

export async function ensureCertificate(
  dir: string,
  subject: CertificateSubject,
  options: EnsureOptions = {},
): Promise<CertificateFiles> {
  checkSubject(subject);
  const files = { cert: join(dir, 'bmc.crt'), key: join(dir, 'bmc.key') };
  const existing = await readExisting(files);
  if (existing && certificateMismatch(existing.cert, existing.keyMatches, subject, options.now ?? new Date()) === undefined) {
    return files;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await createCertificate(files, subject, options.openssl ?? 'openssl');
  return files;
}

/** What a certificate on disk offers, in the terms certificateMismatch compares. */
export interface CertificateFacts {
  subject: string;
  subjectAltName: string | undefined;
  validTo: string;
  publicKeyType: string | undefined;
  namedCurve: string | undefined;
  checkIP(ip: string): string | undefined;
}

/**
 * Why an existing certificate does not fit `wanted` (a sentence), or undefined
 * when it can be reused: same CN, exactly the wanted IP SANs, a P-256 key that
 * belongs to it, and more than 30 days left.
 */
export function certificateMismatch(
  cert: CertificateFacts,
  keyMatches: boolean,
  wanted: CertificateSubject,
  now: Date,
): string | undefined {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  if (cn !== wanted.commonName) return `its CN is ${cn ?? 'missing'}, not ${wanted.commonName}`;
  const sans = (cert.subjectAltName ?? '').split(', ').filter((entry) => entry.startsWith('IP Address:'));
  const distinct = new Set(wanted.ipAddresses.map(canonicalIp));
  if (sans.length !== distinct.size || wanted.ipAddresses.some((ip) => cert.checkIP(ip) === undefined)) {
    return `its addresses (${cert.subjectAltName ?? 'none'}) are not ${wanted.ipAddresses.join(', ')}`;
  }
  if (cert.publicKeyType !== 'ec' || cert.namedCurve !== 'prime256v1') return 'its key is not ECDSA P-256';
  if (!keyMatches) return 'the key file does not belong to it';
  if (new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return `it expires on ${cert.validTo}`;
  return undefined;
}

function checkSubject(subject: CertificateSubject): void {
  // Characters openssl's -subj syntax treats specially ("/", "\", "=", "+") or that break a PEM subject are refused.
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,63}$/.test(subject.commonName)) {
    throw new Error(
      `certificate: commonName ${JSON.stringify(subject.commonName)} must be 1–64 letters, digits, spaces, dots, colons, "_" or "-"`,
    );
  }
  if (subject.ipAddresses.length === 0) throw new Error('certificate: ipAddresses needs at least one address');
  for (const ip of subject.ipAddresses) {
    if (isIP(ip) === 0) throw new Error(`certificate: ${JSON.stringify(ip)} in ipAddresses is not an IP address`);
  }
}

async function readExisting(files: CertificateFiles): Promise<{ cert: CertificateFacts; keyMatches: boolean } | undefined> {
  let certPem: Buffer;
  let keyPem: Buffer;
  try {
    [certPem, keyPem] = await Promise.all([readFile(files.cert), readFile(files.key)]);
  } catch {
    return undefined;
  }
  try {
    const x509 = new X509Certificate(certPem);
    const key = createPrivateKey(keyPem);
    return {
      cert: {
        subject: x509.subject,
        subjectAltName: x509.subjectAltName,
        validTo: x509.validTo,
        publicKeyType: x509.publicKey.asymmetricKeyType,
        namedCurve: x509.publicKey.asymmetricKeyDetails?.namedCurve,
        checkIP: (ip) => x509.checkIP(ip),
      },
      keyMatches: x509.checkPrivateKey(key),
    };
  } catch {
    // Unparseable files are replaced like mismatched ones.
    return undefined;
  }
}

/**
 * Writes key and certificate next to their final names, then renames them
 * into place, key first: a crash in between leaves a certificate whose key
 * does not match, which the next run detects and replaces.
 */
async function createCertificate(files: CertificateFiles, subject: CertificateSubject, openssl: string): Promise<void> {
  const suffix = `.${process.pid}.${Date.now()}.tmp`;
  const tmp = { cert: files.cert + suffix, key: files.key + suffix };
  const sans = [...new Set(subject.ipAddresses)].map((ip) => `IP:${ip}`).join(',');
  try {
    await execFileAsync(
      openssl,
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-sha256',
        '-days',
        String(VALIDITY_DAYS),
        '-subj',
        `/CN=${subject.commonName}`,
        '-addext',
        `subjectAltName=${sans}`,
        '-addext',
        'basicConstraints=critical,CA:FALSE',
        '-addext',
        'keyUsage=critical,digitalSignature',
        '-addext',
        'extendedKeyUsage=serverAuth',
        '-keyout',
        tmp.key,
        '-out',
        tmp.cert,
      ],
      { timeout: 30_000 },
    );
    await chmod(tmp.key, 0o600);
    await rename(tmp.key, files.key);
    await rename(tmp.cert, files.cert);
  } catch (error) {
    await Promise.all([rm(tmp.key, { force: true }), rm(tmp.cert, { force: true })]);
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT' && e.syscall?.startsWith('spawn')) {
      throw new Error(`certificate: ${openssl} was not found; install the Debian package openssl to make BMC certificates`, {
        cause: error,
      });
    }
    const detail = e.stderr?.trim().split('\n').slice(-3).join(' ') || e.message;
    throw new Error(`certificate: openssl could not make ${files.cert}: ${detail}`, { cause: error });
  }
}

function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname : ip;
}
