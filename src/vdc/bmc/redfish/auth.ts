/**
 * Who is asking: HTTP Basic with one of the BMC's accounts, or a session token
 * (X-Auth-Token). The account table (../accounts.ts) compares credentials in
 * constant time; a session counts only while its account is still enabled
 * under the same user name, so disabling or renaming an account ends its
 * sessions too.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AccountView, BmcAccounts, Credentials, Role } from '../accounts.js';
import type { SessionTable } from './sessions.js';

export interface Principal {
  userName: string;
  /** The account's slot. */
  accountId: string;
  role: Role;
  /** Set when the request came with a session token. */
  sessionId?: string;
}

/**
 * The principal behind a request, or undefined when it has no valid
 * credentials. A token, when present, decides alone: a stale token is refused
 * even if Basic credentials come along, so a client notices its logout.
 */
export function authenticate(headers: IncomingHttpHeaders, accounts: BmcAccounts, sessions: SessionTable): Principal | undefined {
  const token = headers['x-auth-token'];
  if (typeof token === 'string') {
    const session = sessions.use(token);
    const account = session && accounts.byName(session.userName);
    return session && account && { ...principal(account), sessionId: session.id };
  }
  const basic = parseBasic(headers.authorization);
  const account = basic && accounts.authenticate(basic.username, basic.password);
  return account && principal(account);
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

function principal(account: AccountView): Principal {
  return { userName: account.userName, accountId: account.id, role: account.role };
}
