/** decideAccess: who may read and change what, by bearer token or client address. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Access, AllowList, type AuthPolicy, decideAccess, hashToken, TokenTable } from '../../src/api/auth.js';

const tokens = new TokenTable(new Map([[hashToken('s3cret-token'), 'alice']]));
const policy = (protectReads = false): AuthPolicy => ({
  allowed: AllowList.parse('127.0.0.1/8,::1,10.0.0.5'),
  tokens,
  protectReads,
});

const ok = (user?: string): Access => (user ? { allowed: true, user } : { allowed: true });
const forbidden = (what: 'changes' | 'reads', ip: string): Access => ({
  allowed: false,
  status: 403,
  reason: `${what} from ${ip} need a bearer token (Authorization: Bearer …) or an address in --allow-ips`,
});
const badToken: Access = { allowed: false, status: 401, reason: 'the bearer token is not valid' };

/** [who asks, reads protected, address, Authorization, write, answer] */
const cases: [string, boolean, string, string | undefined, boolean, Access][] = [
  ['anyone may read by default', false, '192.0.2.9', undefined, false, ok()],
  ['an allowed address may change things, with no user recorded', false, '127.0.0.1', undefined, true, ok()],
  ['the whole allowed CIDR counts', false, '127.3.4.5', undefined, true, ok()],
  ['a single allowed address', false, '10.0.0.5', undefined, true, ok()],
  ['an IPv4-mapped IPv6 address counts as its IPv4 address', false, '::ffff:127.0.0.1', undefined, true, ok()],
  ['allowed IPv6 addresses compare in any spelling', false, '0:0:0:0:0:0:0:1', undefined, true, ok()],
  ['another address may not change things (403)', false, '192.0.2.9', undefined, true, forbidden('changes', '192.0.2.9')],
  ['a neighbour of an allowed single address may not', false, '10.0.0.6', undefined, true, forbidden('changes', '10.0.0.6')],
  [
    'with reads protected, another address may not read (403)',
    true,
    '192.0.2.9',
    undefined,
    false,
    forbidden('reads', '192.0.2.9'),
  ],
  ['with reads protected, an allowed address still reads', true, '127.0.0.1', undefined, false, ok()],
  ['a valid token changes things from anywhere, as its user', false, '192.0.2.9', 'Bearer s3cret-token', true, ok('alice')],
  ['the scheme is case-insensitive', false, '192.0.2.9', 'bearer s3cret-token', true, ok('alice')],
  ['a valid token reads protected data, as its user', true, '192.0.2.9', 'Bearer s3cret-token', false, ok('alice')],
  ['an unknown token is refused (401), even from an allowed address', false, '127.0.0.1', 'Bearer wrong', true, badToken],
  ['a bad token is refused even for an open read', false, '192.0.2.9', 'Bearer wrong', false, badToken],
  ['another scheme is refused (401)', false, '127.0.0.1', 'Basic YWxpY2U6eA==', true, badToken],
  ['an empty header is refused (401)', false, '127.0.0.1', '', false, badToken],
];

describe('decideAccess', () => {
  for (const [name, protectReads, ip, authorization, write, answer] of cases)
    it(name, () => {
      assert.deepEqual(decideAccess(policy(protectReads), ip, authorization, write), answer);
    });

  it('with no allow list and no tokens, only reads are open', () => {
    const closed: AuthPolicy = { allowed: AllowList.parse(''), tokens: TokenTable.empty(), protectReads: false };
    assert.deepEqual(decideAccess(closed, '127.0.0.1', undefined, false), ok());
    assert.deepEqual(decideAccess(closed, '127.0.0.1', undefined, true), forbidden('changes', '127.0.0.1'));
  });

  it('refuses an allow-list entry that is no address, naming it', () => {
    assert.throws(() => AllowList.parse('127.0.0.1, example.com'), /--allow-ips: "example\.com" is not an IPv4 address or CIDR/);
  });
});
