/**
 * An external network with use-nat: its traffic leaves the DC through the NAT
 * uplink. The uplink joins a stand-in for the host (a namespace this test
 * creates, through YAGURA_DC_UPLINK_NETNS), which routes to an "internet"
 * namespace: the real host's namespace and uplink are never touched.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertOk } from '../helpers/cli.js';
import { TestDc } from '../helpers/dc.js';
import { NetNs } from '../helpers/netns.js';
import { tempDir } from '../helpers/temp.js';

const DEFAULT_ROUTE = fileURLToPath(new URL('../fixtures/vdc/bgp/default-route.sh', import.meta.url));

describe('yagura dc: an external network with NAT', () => {
  const dc = new TestDc('nat');
  const dir = tempDir('dc-nat');
  let host: NetNs;
  let internet: NetNs;

  before(async () => {
    host = NetNs.create();
    internet = NetNs.create();
    host.batch([
      `link add yt-inet type veth peer name eth0 netns ${internet.name}`,
      'addr add 198.51.100.254/24 dev yt-inet',
      'link set yt-inet up',
    ]);
    internet.batch(['addr add 198.51.100.1/24 dev eth0', 'link set eth0 up']);
    const file = join(dir.path, 'nat.yml');
    writeFileSync(
      file,
      [
        'kind: Network\nname: internet\ntype: external\nuse-nat: true\naddress: 10.0.0.1/24\n',
        `kind: Node\ntype: netns\nname: client\ninterfaces:\n  - network: internet\n    addresses: [10.0.0.10/24]\ninit-scripts: [${DEFAULT_ROUTE}]\n`,
      ].join('---\n'),
    );
    dc.env.YAGURA_DC_UPLINK_NETNS = host.name;
    assertOk(await dc.up([file]));
  });

  after(async () => {
    await dc.down();
    dc.dispose();
    await host?.remove();
    await internet?.remove();
    dir.remove();
  });

  it('a node on the external network reaches beyond the uplink, masqueraded twice', async () => {
    const server = internet.spawn('python3', [
      '-u',
      '-m',
      'http.server',
      '8000',
      '--bind',
      '198.51.100.1',
      '--directory',
      dir.path,
    ]);
    try {
      await server.waitForOutput(/Serving HTTP/, 15_000);
      const fetched = await dc.exec('client', [
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--max-time',
        '10',
        'http://198.51.100.1:8000/nat.yml',
      ]);
      assert.equal(fetched.stdout, '200', fetched.stderr);
      // The server sees the uplink side's own address: the DC masqueraded to its uplink end, the uplink side to its interface.
      const [, source] = await server.waitForOutput(/^(\S+) - - .*"GET \/nat\.yml/m, 5000);
      assert.equal(source, '198.51.100.254');
    } finally {
      await server.stop();
    }
  });

  it("puts nothing in the real host's namespace", () => {
    assert.doesNotMatch(execFileSync('ip', ['-o', 'link', 'show']).toString(), /yg-u/);
    assert.doesNotMatch(execFileSync('nft', ['list', 'tables']).toString(), /yagura/);
    assert.match(execFileSync('ip', ['-n', host.name, '-o', 'link', 'show']).toString(), /yg-u[0-9a-f]{8}/);
  });

  it('down removes the uplink and its NAT table from the uplink namespace', async () => {
    assertOk(await dc.down());
    assert.doesNotMatch(execFileSync('ip', ['-n', host.name, '-o', 'link', 'show']).toString(), /yg-u/);
    assert.doesNotMatch(execFileSync('ip', ['netns', 'exec', host.name, 'nft', 'list', 'tables']).toString(), /yagura/);
  });
});
