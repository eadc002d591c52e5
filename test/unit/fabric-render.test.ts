import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { generateSite, parseSiteSpec, serverConfig, type GeneratedSite } from '../../src/fabric/index.js';
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
        // Servers get theirs from their role's Ignition template; netns boot servers still run a generated one.
        const netnsBoot = site.plan.machines.filter((machine) => machine.kind === 'netns' && machine.boot).length;
        assert.equal(configs.length, site.plan.spines.length + 2 * site.plan.racks.length + netnsBoot);
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

  it('gives a netns boot server its node0 init script, BIRD, etcd and yagura serve, and relays DHCP to every boot server', () => {
    const site = sites[1]!.site;
    assert.match(fileOf(site, 'init/boot-1.sh'), /ip address add 10\.69\.0\.195\/32 dev lo/);
    assert.equal(site.files.find((file) => file.path === 'init/boot-1.sh')!.mode, 0o755);
    const topology = parseTopology([{ path: 'dc.yml', text: fileOf(site, 'dc.yml') }]);
    const boot = topology.nodes.find((node) => node.name === 'boot-1')!;
    assert.ok(boot.type === 'netns');
    assert.equal(boot.initScripts.length, 1);
    assert.match(boot.initScripts[0]!, /init\/boot-1\.sh$/);
    assert.deepEqual(
      boot.apps.map((app) => app.name),
      ['bird', 'etcd', 'yagura', 'node-agent'],
    );
    assert.deepEqual(
      boot.interfaces.map((i) => i.addresses.map((address) => address.cidr)),
      [['10.69.1.3/26'], ['10.69.1.67/26']],
    );
    const tor = topology.networkNamespaces.find((ns) => ns.name === 'rack1-tor2')!;
    const relay = tor.apps.find((app) => app.name === 'dhcp-relay')!;
    assert.deepEqual(
      relay.command.filter((word) => word.startsWith('--dhcp-relay')),
      ['--dhcp-relay=10.69.1.65,10.69.0.3', '--dhcp-relay=10.69.1.65,10.69.0.195'],
    );
  });

  it('has every ToR send IPv6 router advertisements on its segment, so that iPXE need not wait for one', () => {
    for (const { path, site } of sites) {
      const topology = parseTopology([{ path: 'dc.yml', text: fileOf(site, 'dc.yml') }]);
      const raAddresses = new Set<string>();
      for (const rack of site.plan.racks) {
        for (const planned of rack.tors) {
          const expected = `fd79:6167:${rack.rack.toString(16)}:${planned.side}::1/64`;
          raAddresses.add(expected);
          const tor = topology.networkNamespaces.find((ns) => ns.name === planned.name)!;
          assert.deepEqual(
            tor.interfaces[0]!.addresses.map((address) => address.cidr),
            [`${planned.address}/${planned.prefixLength}`, expected],
            `${path} ${planned.name}: its IPv4 address and a ULA /64 on the segment`,
          );
          const relay = tor.apps.find((app) => app.name === 'dhcp-relay')!;
          assert.deepEqual(
            relay.command.filter((word) => /^--(enable-ra|dhcp-range|ra-param)/.test(word)),
            ['--enable-ra', '--dhcp-range=::,constructor:eth0,ra-only', '--ra-param=eth0,60,0'],
            `${path} ${planned.name}: RAs of that prefix only (no DHCPv6), router lifetime 0`,
          );
        }
      }
      assert.equal(raAddresses.size, 2 * site.plan.racks.length, `${path}: one prefix per segment`);
    }
  });

  it('gives a netns server no addresses, no init script and no BIRD file: it runs yagura node join by serial', () => {
    for (const { site } of sites) {
      const topology = parseTopology([{ path: 'dc.yml', text: fileOf(site, 'dc.yml') }]);
      for (const machine of site.plan.machines.filter((m) => m.kind === 'netns' && !m.boot)) {
        const node = topology.nodes.find((n) => n.name === machine.name)!;
        assert.ok(node.type === 'netns');
        const rack = site.plan.racks[machine.rack]!;
        assert.deepEqual(
          node.interfaces.map((i) => [i.network, i.addresses]),
          [
            [rack.tors[0].segment, []],
            [rack.tors[1].segment, []],
          ],
        );
        assert.deepEqual(node.initScripts, []);
        assert.deepEqual(node.apps, [
          {
            name: 'node-join',
            command: [
              '${YAGURA}',
              'node',
              'join',
              '--serial',
              machine.serial,
              '--root',
              '${RUN_DIR}/nodes/${NAME}',
              '--bird-socket',
              '${RUN_DIR}/bird-${NAME}.ctl',
            ],
          },
        ]);
        assert.ok(
          !site.files.some((file) => file.path === `bird/${machine.name}.conf` || file.path === `init/${machine.name}.sh`),
        );
      }
    }
  });

  it('peers as Neco: eBGP ToR–spine, iBGP to the servers with the ToRs as passive reflectors, BFD, ECMP', () => {
    const site = sites[1]!.site;
    const tor = fileOf(site, 'bird/rack1-tor1.conf');
    assert.match(tor, /protocol bgp spine2 from spine \{\n {2}local 10\.0\.1\.11;\n {2}neighbor 10\.0\.1\.10 as 64599;/);
    assert.match(tor, /template bgp server \{\n {2}local 10\.69\.1\.1 as 64601;[^}]*passive on;\n {2}rr client;\n {2}bfd on;/);
    assert.match(tor, /merge paths on;/);
    const cs1 = site.plan.machines.find((machine) => machine.name === 'rack1-cs1')!;
    const server = serverConfig(site.plan, site.plan.racks[1]!, cs1);
    assert.match(
      server,
      /protocol direct node0 \{\n {2}ipv4 \{ import where net = 10\.69\.0\.196\/32; \};\n {2}interface "node0", "lo";/,
    );
    assert.match(server, /export where net = 10\.69\.0\.196\/32;/);
    assert.match(server, /krt_prefsrc = 10\.69\.0\.196;/);
    assert.match(server, /protocol bgp rack1_tor2 from tor \{\n {2}local 10\.69\.1\.68;\n {2}neighbor 10\.69\.1\.65 as 64601;/);
    const spine = fileOf(site, 'bird/spine1.conf');
    assert.match(spine, /local as 64599;/);
    assert.equal(spine.match(/from tor \{/g)?.length, 4);
  });

  it('brings BGP sessions back within seconds: every template retries connects every 5 s and waits 5–30 s after an error', () => {
    for (const { path, site } of sites) {
      const configs = [
        ...site.files.filter((file) => file.path.startsWith('bird/')).map((file) => [file.path, file.content]),
        ...site.plan.machines.map((machine) => [machine.name, serverConfig(site.plan, site.plan.racks[machine.rack]!, machine)]),
      ];
      for (const [name, text] of configs) {
        const templates = text!.match(/^template bgp \w+ \{\n[^]*?^\}$/gm) ?? [];
        // A ToR has two templates (toward the spines and the servers), a spine or a server one.
        assert.equal(templates.length, /-tor\d\.conf$/.test(name!) ? 2 : 1, `${path} ${name}: its BGP templates`);
        for (const template of templates) {
          assert.match(template, /\n {2}bfd on;\n {2}connect retry time 5;\n {2}error wait time 5, 30;\n/, `${path} ${name}`);
        }
        assert.equal(text!.match(/^protocol bgp \w+ \{/gm), null, `${path} ${name}: every session is from a template`);
      }
    }
  });
});
