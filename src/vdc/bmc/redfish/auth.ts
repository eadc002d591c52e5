/**
 * Who is asking: HTTP Basic with the BMC's one account, or a session token
 * (X-Auth-Token). Credentials are compared through fixed-length digests with
 * timingSafeEqual, and both the user name and the password are always
 * compared, so response times say nothing about how close a guess was.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { SessionTable } from './sessions.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface Principal {
  userName: string;
  /** Set when the request came with a session token. */
  sessionId?: string;
}

/**
 * The principal behind a request, or undefined when it has no valid
 * credentials. A token, when present, decides alone: a stale token is refused
 * even if Basic credentials come along, so a client notices its logout.
 */
export function authenticate(headers: IncomingHttpHeaders, account: Credentials, sessions: SessionTable): Principal | undefined {
  const token = headers['x-auth-token'];
  if (typeof token === 'string') {
    const session = sessions.use(token);
    return session && { userName: session.userName, sessionId: session.id };
  }
  const basic = parseBasic(headers.authorization);
  if (basic && credentialsMatch(account, basic.username, basic.password)) return { userName: basic.username };
  return undefined;
}

/** Decodes `Authorization: Basic …`; undefined for any other scheme or a malformed value. */
export function parseBasic(header: string | undefined): Credentials | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function credentialsMatch(account: Credentials, username: string, password: string): boolean {
  const userOk = sameSecret(account.username, username);
  const passwordOk = sameSecret(account.password, password);
  return userOk && passwordOk;
}

function sameSecret(expected: string, given: string): boolean {
  // Digests have one length whatever was typed, which timingSafeEqual needs.
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}
