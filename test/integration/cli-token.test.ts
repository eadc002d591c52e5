/** Tokens end to end: yagura token add → yagura serve --token-file → a client with YAGURA_TOKEN. */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RunningYagura, runYagura } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

describe('yagura token', () => {
  it('creates a token whose hash alone is stored, and the server accepts it as its named user', async () => {
    const dir = tempDir('token');
    const tokenFile = join(dir.path, 'tokens');
    const port = await freePort();
    let server: RunningYagura | undefined;
    try {
      const added = await runYagura(['token', 'add', 'ci-bot', '--token-file', tokenFile]);
      assert.equal(added.code, 0, added.stderr);
      const token = added.stdout.trim();
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      const file = readFileSync(tokenFile, 'utf8');
      assert.doesNotMatch(file, new RegExp(token), 'the file holds no token');
      assert.match(file, /^ci-bot [0-9a-f]{64}\n$/);
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
      assert.equal((await runYagura(['token', 'add', 'ci-bot', '--token-file', tokenFile])).code, 1, 'names are unique');
      assert.equal((await runYagura(['token', 'list', '--token-file', tokenFile])).stdout, 'ci-bot\n');

      // Loopback is not allowed to change anything here: only the token helps.
      server = new RunningYagura([
        'serve',
        '--listen',
        `127.0.0.1:${port}`,
        '--data-dir',
        join(dir.path, 'data'),
        '--allow-ips',
        '192.0.2.1',
        '--token-file',
        tokenFile,
      ]);
      await server.waitFor('"serving"');
      const ipamFile = join(dir.path, 'ipam.json');
      writeFileSync(ipamFile, JSON.stringify(EXAMPLE_IPAM));
      const server_ = ['--server', `http://127.0.0.1:${port}`];
      const refused = await runYagura(['ipam', 'set', '-f', ipamFile, ...server_]);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /need a bearer token/);
      const allowed = await runYagura(['ipam', 'set', '-f', ipamFile, ...server_], { env: { YAGURA_TOKEN: token } });
      assert.equal(allowed.code, 0, allowed.stderr);
      const logs = await runYagura(['logs', '-o', 'json', ...server_]);
      assert.equal(JSON.parse(logs.stdout.trim().split('\n').at(-1)!).user, 'ci-bot');

      assert.equal((await runYagura(['token', 'remove', 'ci-bot', '--token-file', tokenFile])).code, 0);
      assert.equal(readFileSync(tokenFile, 'utf8').trim(), '');
    } finally {
      if (server) assert.equal(await server.stop(), 0);
      dir.remove();
    }
  });
});
