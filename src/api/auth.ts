/**
 * Who may do what. Reads are open unless `protectReads`; changes need a client
 * address in the allow list (sabakan's model; default loopback) or a bearer
 * token from the token file. Tokens are stored as SHA-256 hashes; a token's
 * name is the user recorded in the audit log.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { UserError } from '../lib/errors.js';
import { cidrContains, parseCidrV4, parseIPv4 } from '../lib/ipv4.js';

export interface AuthPolicy {
  allowed: AllowList;
  tokens: TokenTable;
  protectReads: boolean;
}

export type Access = { allowed: true; user?: string } | { allowed: false; status: 401 | 403; reason: string };

export function decideAccess(policy: AuthPolicy, ip: string, authorization: string | undefined, write: boolean): Access {
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    const user = match ? policy.tokens.lookup(match[1]!) : undefined;
    if (!user) return { allowed: false, status: 401, reason: 'the bearer token is not valid' };
    return { allowed: true, user };
  }
  if (!write && !policy.protectReads) return { allowed: true };
  if (policy.allowed.contains(ip)) return { allowed: true };
  return {
    allowed: false,
    status: 403,
    reason: `${write ? 'changes' : 'reads'} from ${ip} need a bearer token (Authorization: Bearer …) or an address in --allow-ips`,
  };
}

export class AllowList {
  private constructor(
    private readonly v4: { network: number; bits: number }[],
    private readonly v6: string[],
  ) {}

  /** "127.0.0.1/8,::1,10.0.0.5": IPv4 CIDRs or addresses, IPv6 addresses. */
  static parse(list: string): AllowList {
    const v4: { network: number; bits: number }[] = [];
    const v6: string[] = [];
    for (const entry of list
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      if (isIPv6(entry)) v6.push(normalizeV6(entry));
      else if (isIPv4(entry)) v4.push({ network: parseIPv4(entry)!, bits: 32 });
      else {
        const cidr = parseCidrV4(entry, false);
        if (!cidr)
          throw new UserError(`--allow-ips: ${JSON.stringify(entry)} is not an IPv4 address or CIDR, nor an IPv6 address`, 2);
        v4.push(cidr);
      }
    }
    return new AllowList(v4, v6);
  }

  contains(ip: string): boolean {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    const address = mapped ? mapped[1]! : ip;
    if (isIPv4(address)) {
      const n = parseIPv4(address)!;
      return this.v4.some((cidr) => cidrContains(cidr, n));
    }
    return isIPv6(address) && this.v6.includes(normalizeV6(address));
  }
}

export class TokenTable {
  /** SHA-256 hex of a token → its name. */
  constructor(private readonly names: Map<string, string>) {}

  static empty(): TokenTable {
    return new TokenTable(new Map());
  }

  /**
   * Token file: one token per line, "NAME SHA256-HEX-OF-TOKEN"; "#" starts a
   * comment. `yagura token add` writes it.
   */
  static load(file: string): TokenTable {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UserError(`--token-file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code})`);
    }
    const names = new Map<string, string>();
    for (const [i, raw] of text.split('\n').entries()) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      const match = /^([A-Za-z0-9._@-]+)\s+([0-9a-f]{64})$/.exec(line);
      if (!match)
        throw new UserError(
          `--token-file ${file} line ${i + 1}: expected "NAME SHA256-HEX", got ${JSON.stringify(line.slice(0, 40))}`,
        );
      names.set(match[2]!, match[1]!);
    }
    return new TokenTable(names);
  }

  /** The token's name, if the token is known. Only hashes are compared, so lookup time reveals nothing of stored tokens. */
  lookup(token: string): string | undefined {
    return this.names.get(hashToken(token));
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function normalizeV6(address: string): string {
  // Expand "::" so that equal addresses compare equal.
  const [head, tail] = address.toLowerCase().split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}
