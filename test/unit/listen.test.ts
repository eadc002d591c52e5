import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/lib/errors.js';
import { parseListen } from '../../src/lib/listen.js';

describe('--listen addresses', () => {
  it('parses IPv4, IPv6 and an empty host', () => {
    assert.deepEqual(parseListen('0.0.0.0:10080', '--listen'), { host: '0.0.0.0', port: 10080 });
    assert.deepEqual(parseListen('[::1]:443', '--listen'), { host: '::1', port: 443 });
    assert.deepEqual(parseListen(':8080', '--listen'), { host: '0.0.0.0', port: 8080 });
  });

  it('refuses what is not HOST:PORT as a usage error naming the flag', () => {
    for (const bad of ['10080', 'host:', 'host:99999', '::1:80', 'a:b']) {
      assert.throws(
        () => parseListen(bad, '--listen'),
        (e: unknown) => e instanceof UserError && e.exitCode === 2 && e.message.startsWith('--listen'),
        bad,
      );
    }
  });
});
