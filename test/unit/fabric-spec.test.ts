import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSiteSpec, SiteSpecError } from '../../src/fabric/index.js';

/** The problems of a spec, formatted as the CLI prints them ("file:line:column field: message"). */
function problems(text: string, path = 'site.yml'): string[] {
  try {
    parseSiteSpec({ path, text });
  } catch (error) {
    assert.ok(error instanceof SiteSpecError, String(error));
    return error.message
      .split('\n')
      .slice(1)
      .map((line) => line.trim());
  }
  assert.fail('the spec was accepted');
}

describe('fabric: the site spec', () => {
  it('fills in the defaults: name from the file, 2 spines, a netns boot server, dctest IPAM, AS 64600', () => {
    const spec = parseSiteSpec({ path: 'sites/My Site.yml', text: 'racks: 1\n' });
    assert.equal(spec.name, 'my-site');
    assert.equal(spec.spines, 2);
    assert.deepEqual(spec.racks, [{ rack: 0, bootServer: { kind: 'netns' }, servers: [] }]);
    assert.equal(spec.asnBase, 64600);
    assert.equal(spec.ipam['node-ipv4-pool'], '10.69.0.0/20');
    assert.equal(spec.ipam['bmc-ipv4-offset'], '0.0.1.0');
  });

  it('lets a rack differ: its own servers and boot server', () => {
    const spec = parseSiteSpec({
      path: 's.yml',
      text: 'racks: 2\nservers: [{role: cs, count: 1}]\noverrides:\n  - {rack: 1, boot-server: false, servers: [{role: ss, count: 2, kind: netns}]}\n',
    });
    assert.deepEqual(spec.racks[0]!.servers, [{ role: 'cs', count: 1, kind: 'vm', cpu: 1, memory: '2G', firmware: 'uefi' }]);
    assert.equal(spec.racks[1]!.bootServer, undefined);
    assert.deepEqual(spec.racks[1]!.servers, [{ role: 'ss', count: 2, kind: 'netns', cpu: 1, memory: '2G', firmware: 'uefi' }]);
  });

  it('reports every schema problem with its position', () => {
    assert.deepEqual(
      problems(`racks: 0
spinez: 2
servers:
  - role: cs
    count: two
  - { role: boot, count: 1, kind: container }
`),
      [
        'site.yml:1:8 racks: must be at least 1, found 0',
        'site.yml:2:1 spinez: unknown field',
        'site.yml:5:12 servers[0].count: must be a number, found "two"',
        'site.yml:6:13 servers[1].role: boot is the boot server\'s role: use "boot-server"',
        'site.yml:6:35 servers[1].kind: must be one of vm, netns, found "container"',
      ],
    );
  });

  it('reports problems across fields: racks, roles, sizes, the address plan, links', () => {
    assert.deepEqual(
      problems(`racks: 2
servers:
  - { role: cs, count: 20, kind: netns, cpu: 2 }
  - { role: cs, count: 9 }
overrides:
  - { rack: 2, servers: [] }
ipam:
  node-ip-per-node: 2
spine-tor-pool: 10.0.1.0/30
`),
      [
        'site.yml:3:3 servers: 29 servers in a rack; max-nodes-in-rack is 28',
        'site.yml:3:46 servers[0].cpu: is only for kind: vm servers',
        'site.yml:4:13 servers[1].role: role cs appears twice: give one group a larger count',
        'site.yml:6:13 overrides[0].rack: there is no rack 2: racks are 0–1',
        'site.yml:8:21 ipam.node-ip-per-node: must be 3 in a rack-standard site: node0 (announced) and one address toward each ToR',
        'site.yml:9:17 spine-tor-pool: 2 racks × 2 ToRs × 2 spines need 8 /31 links (16 addresses); 10.0.1.0/30 has 4',
      ],
    );
  });

  it('refuses a rack with more servers than max-nodes-in-rack, and IPAM fields sabakan refuses', () => {
    assert.deepEqual(problems('racks: 1\nservers: [{role: cs, count: 29}]\nipam: {node-ipv4-range-mask: 30}\n'), [
      'site.yml:3:30 ipam.node-ipv4-range-mask: a /30 subnet is smaller than a range of 2^6 addresses: use at most 26',
    ]);
    assert.deepEqual(problems('racks: 1\nservers: [{role: cs, count: 29}]\n'), [
      'site.yml:2:10 servers: 29 servers in a rack; max-nodes-in-rack is 28',
    ]);
  });

  it('reports YAML syntax problems and a second document with positions', () => {
    assert.deepEqual(problems('racks: [1\n'), [problems('racks: [1\n')[0]!]);
    assert.match(problems('racks: [1\n')[0]!, /^site\.yml:\d+:\d+ YAML: /);
    assert.deepEqual(problems('racks: 1\n---\nracks: 2\n'), [
      'site.yml:3:1 a site spec is exactly one YAML document (a mapping with racks, servers, …)',
    ]);
    assert.deepEqual(problems('- racks\n'), ['site.yml:1:1 a site spec must be a mapping, found a list']);
  });
});
