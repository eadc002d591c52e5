import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { generateSite, parseSiteSpec, type GeneratedSite } from '../../src/fabric/index.js';
import { parseTopology } from '../../src/vdc/spec/index.js';
import { tempDir } from '../helpers/temp.js';

const SPECS = ['test/fixtures/fabric/4racks.yml', 'test/fixtures/fabric/2racks-netns.yml'];
const MIXED = `name: mixed
racks: 3
spines: 3
boot-server: { kind: vm }
servers:
  - { role: cs, count: 2, kind: netns }
  - { role: ss, count: 1, kind: vm, memory: 1536M }
overrides:
  - { rack: 2, boot-server: false, servers: [{ role: gpu, count: 3, kind: netns }] }
`;

function generate(path: string, text = readFileSync(path, 'utf8')): GeneratedSite {
  return generateSite(parseSiteSpec({ path, text }));
}
const sites = [
  ...SPECS.map((path) => ({ path, site: generate(path) })),
  { path: 'mixed.yml', site: generate('mixed.yml', MIXED) },
];
const fileOf = (site: GeneratedSite, path: string) => site.files.find((file) => file.path === path)!.content;

describe('fabric: rendering', () => {
  for (const { path, site } of sites) {
    it(`${path}: the topology parses with parseTopology, with no problem`, () => {
      const topology = parseTopology([{ path: 'dc.yml', text: fileOf(site, 'dc.yml') }]);
      assert.equal(topology.nodes.length, site.plan.machines.length);
      assert.equal(topology.networkNamespaces.length, site.plan.spines.length + 2 * site.plan.racks.length);
      const vm = topology.nodes.find((node) => node.type === 'vm');
      if (vm && vm.type === 'vm') {
        const planned = site.plan.machines.find((machine) => machine.name === vm.name)!;
        assert.equal(vm.smbios.serial, planned.serial, 'the VM and machines.json agree on the serial');
        assert.equal(vm.bmc?.address, planned.bmc);
      }
    });

    it(`${path}: every BIRD config is accepted by bird -p`, () => {
      const dir = tempDir('fabric-bird');
      try {
        const configs = site.files.filter((file) => file.path.startsWith('bird/'));
        const netns = site.plan.machines.filter((machine) => machine.kind === 'netns').length;
        assert.equal(configs.length, site.plan.spines.length + 2 * site.plan.racks.length + netns);
        for (const config of configs) {
          const file = join(dir.path, config.path);
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, config.content);
          execFileSync('bird', ['-p', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
        }
      } finally {
        dir.remove();
      }
    });
  }

  it('is deterministic: the same spec gives byte-identical files', () => {
    for (const path of SPECS) assert.deepEqual(generate(path).files, generate(path).files);
    assert.deepEqual(generate('mixed.yml', MIXED).files, sites[2]!.site.files);
  });

  it('gives every netns server a node0 init script and a BIRD app, and relays DHCP to every boot server', () => {
    const site = sites[1]!.site;
    assert.match(fileOf(site, 'init/rack1-cs1.sh'), /ip address add 10\.69\.0\.196\/32 dev lo/);
    assert.equal(site.files.find((file) => file.path === 'init/rack1-cs1.sh')!.mode, 0o755);
    const topology = parseTopology([{ path: 'dc.yml', text: fileOf(site, 'dc.yml') }]);
    const tor = topology.networkNamespaces.find((ns) => ns.name === 'rack1-tor2')!;
    const relay = tor.apps.find((app) => app.name === 'dhcp-relay')!;
    assert.deepEqual(
      relay.command.filter((word) => word.startsWith('--dhcp-relay')),
      ['--dhcp-relay=10.69.1.65,10.69.0.3', '--dhcp-relay=10.69.1.65,10.69.0.195'],
    );
  });

  it('peers as Neco: eBGP ToR–spine, iBGP to the servers with the ToRs as passive reflectors, BFD, ECMP', () => {
    const site = sites[1]!.site;
    const tor = fileOf(site, 'bird/rack1-tor1.conf');
    assert.match(tor, /protocol bgp spine2 from spine \{\n {2}local 10\.0\.1\.11;\n {2}neighbor 10\.0\.1\.10 as 64599;/);
    assert.match(tor, /template bgp server \{\n {2}local 10\.69\.1\.1 as 64601;[^}]*passive on;\n {2}rr client;\n {2}bfd on;/);
    assert.match(tor, /merge paths on;/);
    const server = fileOf(site, 'bird/rack1-cs1.conf');
    assert.match(server, /export where net = 10\.69\.0\.196\/32;/);
    assert.match(server, /krt_prefsrc = 10\.69\.0\.196;/);
    assert.match(server, /protocol bgp rack1_tor2 from tor \{\n {2}local 10\.69\.1\.68;\n {2}neighbor 10\.69\.1\.65 as 64601;/);
    const spine = fileOf(site, 'bird/spine1.conf');
    assert.match(spine, /local as 64599;/);
    assert.equal(spine.match(/from tor \{/g)?.length, 4);
  });
});
