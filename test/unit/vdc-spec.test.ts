import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { UserError } from '../../src/lib/errors.js';
import { networkContains, parseInterfaceAddress, type InterfaceAddress } from '../../src/vdc/addresses.js';
import {
  defaultSerial,
  formatProblem,
  parseTopology,
  TopologyError,
  type Topology,
  type VmNode,
} from '../../src/vdc/spec/index.js';
import { parseDelay, parsePercent, parseRate, parseSize } from '../../src/vdc/units.js';

const FIXTURES = 'test/fixtures/vdc';
const fixture = (name: string) => ({ path: `${FIXTURES}/${name}`, text: readFileSync(`${FIXTURES}/${name}`, 'utf8') });

/** One YAML file from lines, so that line numbers in expectations can be counted. */
const lines = (...text: string[]) => text.join('\n') + '\n';

/** The formatted problems of a topology that must fail. */
function problemsOf(...files: { path: string; text: string }[] | string[]): string[] {
  const sources = files.map((file) => (typeof file === 'string' ? { path: 'cluster.yml', text: file } : file));
  try {
    parseTopology(sources);
  } catch (error) {
    assert.ok(error instanceof TopologyError, `expected a TopologyError, got ${String(error)}`);
    return error.problems.map(formatProblem);
  }
  assert.fail('expected the topology to be refused');
}

const v4 = (cidr: string, network: string): InterfaceAddress => ({
  cidr,
  address: cidr.split('/')[0]!,
  prefixLength: Number(cidr.split('/')[1]),
  family: 4,
  network,
});

const NETWORKS = lines(
  'kind: Network',
  'name: r0-node1',
  '---',
  'kind: Network',
  'name: bmc',
  'type: bmc',
  'address: 10.72.16.1/20',
  '---',
);

describe('dc topology: valid files', () => {
  it('parses the documented example into the normalized form, defaults filled in', () => {
    const topology = parseTopology([fixture('example.yml')]);
    const file = `${FIXTURES}/example.yml`;
    const expected: Topology = {
      networks: [
        { name: 'r0-node1', type: 'internal', useNat: false, origin: { file, line: 3, column: 1 } },
        { name: 'r0-node2', type: 'internal', useNat: false, origin: { file, line: 7, column: 1 } },
        {
          name: 'bmc',
          type: 'bmc',
          useNat: false,
          address: v4('10.72.16.1/20', '10.72.16.0/20'),
          origin: { file, line: 11, column: 1 },
        },
      ],
      images: [{ name: 'debian', file: `${FIXTURES}/images/debian-12.qcow2`, origin: { file, line: 58, column: 1 } }],
      deviceClasses: [],
      networkNamespaces: [
        {
          kind: 'NetworkNamespace',
          name: 'rack0-tor1',
          interfaces: [{ index: 0, network: 'r0-node1', addresses: [v4('10.69.0.2/26', '10.69.0.0/26')] }],
          apps: [
            {
              name: 'bird',
              command: ['bird', '-f', '-c', '/etc/yagura/dc1/bird-rack0-tor1.conf', '-s', '/run/yagura/dc1/bird-rack0-tor1.ctl'],
            },
          ],
          initScripts: [],
          origin: { file, line: 16, column: 1 },
        },
        {
          kind: 'NetworkNamespace',
          name: 'rack0-tor2',
          interfaces: [{ index: 0, network: 'r0-node2', addresses: [v4('10.69.0.66/26', '10.69.0.64/26')] }],
          apps: [
            {
              name: 'bird',
              command: ['bird', '-f', '-c', '/etc/yagura/dc1/bird-rack0-tor2.conf', '-s', '/run/yagura/dc1/bird-rack0-tor2.ctl'],
            },
          ],
          initScripts: [],
          origin: { file, line: 25, column: 1 },
        },
      ],
      nodes: [
        {
          kind: 'Node',
          type: 'netns',
          name: 'rack0-cs1',
          interfaces: [
            {
              index: 0,
              network: 'r0-node1',
              addresses: [v4('10.69.0.10/26', '10.69.0.0/26')],
              netem: { delayUs: 5000, jitterUs: 1000, lossPercent: 0.1 },
            },
            {
              index: 1,
              network: 'r0-node2',
              addresses: [v4('10.69.0.74/26', '10.69.0.64/26')],
              netem: { rateBitsPerSecond: 100_000_000 },
            },
          ],
          apps: [{ name: 'web', command: ['python3', '-m', 'http.server', '8080'] }],
          initScripts: [`${FIXTURES}/scripts/server-routes.sh`],
          origin: { file, line: 34, column: 1 },
        },
        {
          kind: 'Node',
          type: 'netns',
          name: 'rack0-cs2',
          interfaces: [
            { index: 0, network: 'r0-node1', addresses: [v4('10.69.0.11/26', '10.69.0.0/26')] },
            { index: 1, network: 'r0-node2', addresses: [v4('10.69.0.75/26', '10.69.0.64/26')] },
          ],
          apps: [],
          initScripts: [],
          origin: { file, line: 49, column: 1 },
        },
        {
          kind: 'Node',
          type: 'vm',
          name: 'rack0-boot',
          interfaces: [
            { index: 0, network: 'r0-node1', addresses: [] },
            { index: 1, network: 'r0-node2', addresses: [] },
            { index: 2, network: 'bmc', addresses: [] },
          ],
          volumes: [
            { kind: 'image', name: 'root', image: 'debian', copyOnWrite: true, cache: 'none' },
            { kind: 'raw', name: 'data', sizeBytes: 10 * 2 ** 30, format: 'qcow2', cache: 'none' },
          ],
          smp: { cpus: 2 },
          memoryMiB: 2048,
          uefi: true,
          tpm: true,
          smbios: { manufacturer: 'Yagura', product: 'vm', serial: 'boot0001' },
          bmc: { username: 'admin', password: 'yagura-bmc' },
          origin: { file, line: 62, column: 1 },
        },
      ],
    };
    assert.deepEqual(topology, expected);
  });

  it('merges a placemat-style multi-rack excerpt from two files, references crossing files', () => {
    const topology = parseTopology([fixture('multi-rack-networks.yml'), fixture('multi-rack-nodes.yml')]);
    assert.deepEqual(
      topology.networks.map((network) => [network.name, network.type, network.useNat, network.address?.cidr]),
      [
        ['internet', 'external', true, '10.0.0.1/24'],
        ['bmc', 'bmc', false, '10.72.16.1/20'],
        ['s1-to-r0-1', 'internal', false, undefined],
        ['s1-to-r0-2', 'internal', false, undefined],
        ['r0-node1', 'internal', false, undefined],
        ['r0-node2', 'internal', false, undefined],
      ],
    );
    assert.deepEqual(
      topology.networkNamespaces.map((ns) => [
        ns.name,
        ns.interfaces.map((i) => `${i.network}=${i.addresses.map((a) => a.cidr)}`),
      ]),
      [
        ['spine1', ['internet=10.0.0.2/24', 's1-to-r0-1=10.72.1.0/31', 's1-to-r0-2=10.72.1.2/31', 'bmc=10.72.16.2/20']],
        ['rack0-tor1', ['s1-to-r0-1=10.72.1.1/31', 'r0-node1=10.69.0.65/26']],
        ['rack0-tor2', ['s1-to-r0-2=10.72.1.3/31', 'r0-node2=10.69.0.129/26']],
      ],
    );
    const tor1 = topology.networkNamespaces[1]!;
    assert.deepEqual(tor1.apps[1], {
      name: 'dnsmasq',
      command: ['/usr/sbin/dnsmasq', '--keep-in-foreground', '--dhcp-relay', '10.69.0.65,10.71.255.1'],
    });
    assert.deepEqual(topology.networkNamespaces[2]!.initScripts, [`${FIXTURES}/scripts/tor-init.sh`]);
    assert.deepEqual(topology.images, [
      {
        name: 'ubuntu-image',
        url: 'https://cloud-images.ubuntu.com/releases/22.04/release/ubuntu-22.04-server-cloudimg-amd64.img',
        origin: { file: `${FIXTURES}/multi-rack-nodes.yml`, line: 2, column: 1 },
      },
      {
        name: 'flatcar',
        file: `${FIXTURES}/images/flatcar_production_qemu_image.img.bz2`,
        compression: 'bzip2',
        origin: { file: `${FIXTURES}/multi-rack-nodes.yml`, line: 6, column: 1 },
      },
    ]);

    const [boot, cs1, cs2] = topology.nodes as VmNode[];
    assert.deepEqual(boot!.smp, { cpus: 8 }, 'cpu: N becomes smp {cpus: N}');
    assert.equal(boot!.memoryMiB, 4096);
    assert.deepEqual(boot!.volumes, [
      { kind: 'image', name: 'root', image: 'ubuntu-image', copyOnWrite: true, cache: 'none' },
      {
        kind: 'localds',
        name: 'seed',
        userData: `${FIXTURES}/seed_boot-0.yml`,
        networkConfig: `${FIXTURES}/network.yml`,
        cache: 'none',
      },
      { kind: 'hostPath', name: 'sabakan', path: '/var/scratch/sabakan', writable: true },
    ]);
    assert.deepEqual(
      boot!.bmc,
      { username: 'cybozu', password: 'cybozu' },
      'a bmc network gives every VM placemat’s default BMC',
    );
    assert.equal(boot!.uefi, false);

    assert.deepEqual(cs1!.smp, { cpus: 12, cores: 6, sockets: 2 });
    assert.equal(cs1!.numaNodes, 4);
    assert.equal(cs1!.networkDeviceQueue, 24);
    assert.equal(cs1!.memoryMiB, 32 * 1024);
    assert.deepEqual(cs1!.smbios, { serial: 'ba49d9e3c0b7d5f6a2e1c4b8d7f6e5a4c3b2a190' });
    assert.deepEqual([cs1!.uefi, cs1!.tpm], [true, true]);
    assert.deepEqual(cs1!.volumes, [
      { kind: 'raw', name: 'data1', sizeBytes: 30 * 2 ** 30, format: 'raw', cache: 'none' },
      { kind: 'raw', name: 'data2', sizeBytes: 100 * 2 ** 30, format: 'qcow2', cache: 'writeback' },
    ]);
    assert.deepEqual(
      cs2!.smbios,
      { serial: 'e6abb04b4645a765faf91f97536ec64f9cecfb61' },
      'the serial defaults to SHA-1 of the name',
    );
    assert.deepEqual(cs2!.interfaces, [
      { index: 0, network: 'r0-node1', addresses: [] },
      { index: 1, network: 'r0-node2', addresses: [] },
    ]);
  });

  it('fills in defaults for minimal documents', () => {
    const topology = parseTopology([
      {
        path: 'min.yml',
        text: lines(
          'kind: Network',
          'name: n',
          '---',
          'kind: Image',
          'name: i',
          'file: /srv/i.img',
          '---',
          'kind: Node',
          'name: vm1',
          'cpu: 1',
          'interfaces: [n]',
          'volumes:',
          '  - {kind: image, name: root, image: i}',
          '  - {kind: raw, name: d, size: 1G}',
          '  - {kind: hostPath, name: share, path: /srv/share}',
          '---',
          'kind: Node',
          'name: s1',
          'type: netns',
          'interfaces: [n]',
        ),
      },
    ]);
    assert.deepEqual(topology.networks[0], {
      name: 'n',
      type: 'internal',
      useNat: false,
      origin: { file: 'min.yml', line: 1, column: 1 },
    });
    const vm = topology.nodes[0] as VmNode;
    assert.deepEqual(
      { ...vm, origin: undefined },
      {
        kind: 'Node',
        type: 'vm',
        name: 'vm1',
        interfaces: [{ index: 0, network: 'n', addresses: [] }],
        volumes: [
          { kind: 'image', name: 'root', image: 'i', copyOnWrite: false, cache: 'none' },
          { kind: 'raw', name: 'd', sizeBytes: 2 ** 30, format: 'qcow2', cache: 'none' },
          { kind: 'hostPath', name: 'share', path: '/srv/share', writable: false },
        ],
        smp: { cpus: 1 },
        memoryMiB: 1024,
        uefi: false,
        tpm: false,
        smbios: { serial: createHash('sha1').update('vm1').digest('hex') },
        origin: undefined,
      },
      'no bmc field: the topology has no bmc network',
    );
    assert.equal(defaultSerial('vm1'), vm.smbios.serial);
    assert.deepEqual(topology.nodes[1], {
      kind: 'Node',
      type: 'netns',
      name: 's1',
      interfaces: [{ index: 0, network: 'n', addresses: [] }],
      apps: [],
      initScripts: [],
      origin: { file: 'min.yml', line: 17, column: 1 },
    });
  });

  it('derives smp.cpus the way QEMU does, accepts IPv6, anchors, empty documents and DeviceClasses', () => {
    const topology = parseTopology([
      {
        path: 'dc/a.yml',
        text: lines(
          '# comments only',
          '---',
          'kind: Network',
          'name: v6',
          'type: external',
          'address: FD00:0:0:0::1/64',
          '---',
          'kind: DeviceClass',
          'name: ssd',
          'path: /mnt/ssd',
          '---',
          'kind: Node',
          'name: big',
          'smp: {sockets: 2, cores: 4, threads: 2}',
          'volumes: [{kind: raw, name: d, size: 1.5G, device-class: ssd}]',
          'ignition: ign/big.ign',
          '---',
          'kind: NetworkNamespace',
          'name: r1',
          'interfaces:',
          '  - network: v6',
          '    addresses: [fd00::2/64]',
          '    netem: &slow {delay: 0.5ms, rate: 1.5kibit}',
          '  - network: v6',
          '    addresses: ["fd00::3/64"]',
          '    netem: *slow',
          'apps: [{name: sleeper, command: [sleep, 10]}]',
          '---',
        ),
      },
    ]);
    assert.deepEqual(topology.networks[0]!.address, {
      cidr: 'fd00::1/64',
      address: 'fd00::1',
      prefixLength: 64,
      family: 6,
      network: 'fd00::/64',
    });
    assert.deepEqual(topology.deviceClasses, [
      { name: 'ssd', path: '/mnt/ssd', origin: { file: 'dc/a.yml', line: 8, column: 1 } },
    ]);
    const big = topology.nodes[0] as VmNode;
    assert.deepEqual(big.smp, { cpus: 16, sockets: 2, cores: 4, threads: 2 });
    assert.equal(big.ignition, 'dc/ign/big.ign');
    assert.deepEqual(big.volumes[0], {
      kind: 'raw',
      name: 'd',
      sizeBytes: 1.5 * 2 ** 30,
      format: 'qcow2',
      cache: 'none',
      deviceClass: 'ssd',
    });
    const r1 = topology.networkNamespaces[0]!;
    assert.deepEqual(
      r1.interfaces.map((i) => i.netem),
      [
        { delayUs: 500, rateBitsPerSecond: 1536 },
        { delayUs: 500, rateBitsPerSecond: 1536 },
      ],
    );
    assert.deepEqual(r1.apps, [{ name: 'sleeper', command: ['sleep', '10'] }]);
  });

  it('docs/dc-yaml.md shows the example fixture and real error output', () => {
    const docs = readFileSync('docs/dc-yaml.md', 'utf8');
    const body = fixture('example.yml')
      .text.split('\n')
      .filter((line, i, all) => !(line.startsWith('#') && all.slice(0, i).every((l) => l.startsWith('#'))))
      .join('\n');
    assert.ok(docs.includes('```yaml\n' + body + '```'), 'the complete example in the docs is test/fixtures/vdc/example.yml');
    const text = fixture('cluster-with-errors.yml').text;
    const problems = problemsOf({ path: 'cluster.yml', text });
    assert.ok(docs.includes(`${problems.length} problems in the topology:\n${problems.map((p) => `  ${p}`).join('\n')}\n`));
  });
});

describe('dc topology: problems name file, line, column and field', () => {
  const cases: { what: string; text: string; expected: string[] }[] = [
    {
      what: 'unknown kind, missing kind, a document that is not a mapping',
      text: lines('kind: Netwrok', 'name: x', '---', 'name: y', '---', '- a', '- b', '---', 'kind: Pod', 'name: p'),
      expected: [
        'cluster.yml:1:7 document 1: kind: unknown kind "Netwrok" (known: Network, NetworkNamespace, Node, Image, DeviceClass)',
        'cluster.yml:4:1 document 2: kind: is required (one of Network, NetworkNamespace, Node, Image, DeviceClass)',
        'cluster.yml:6:1 document 3: a document must be a mapping with kind and name, found a list',
        'cluster.yml:9:7 document 4: kind: Pod is a placemat v1 kind and is not supported (known: Network, NetworkNamespace, Node, Image, DeviceClass)',
      ],
    },
    {
      what: 'unknown fields, with a suggestion when one is close',
      text: lines('kind: Network', 'name: ext', 'type: external', 'address: 10.0.0.1/24', 'use_nat: true', 'mtu: 1500'),
      expected: [
        'cluster.yml:5:1 Network ext: use_nat: unknown field (did you mean "use-nat"?)',
        'cluster.yml:6:1 Network ext: mtu: unknown field (known here: kind, name, type, use-nat, address)',
      ],
    },
    {
      what: 'fields of the other node type, addresses on a VM, placemat leftovers',
      text:
        NETWORKS +
        lines(
          'kind: Node',
          'name: vm',
          'cpu: 1',
          'apps: []',
          'interfaces: [{network: r0-node1, addresses: [10.0.0.1/24]}]',
          'volumes: [{kind: raw, name: d, size: 1G, vg: vg0}]',
          '---',
          'kind: Node',
          'name: light',
          'type: netns',
          'interfaces: [r0-node1]',
          'memory: 1G',
          '---',
          'kind: Node',
          'spec: {}',
        ),
      expected: [
        'cluster.yml:12:1 Node vm: apps: unknown field for a VM node: "apps" is only for type: netns nodes and NetworkNamespaces',
        'cluster.yml:13:34 Node vm: interfaces[0].addresses: unknown field for a VM node: a VM configures its own addresses; addresses are for netns nodes and NetworkNamespaces',
        'cluster.yml:14:42 Node vm: volumes[0].vg: unknown field: "vg" is a leftover of placemat v1\'s LVM volumes and is not supported',
        'cluster.yml:20:1 Node light: memory: unknown field for a netns node: "memory" is only for type: vm nodes',
        'cluster.yml:22:1 Node (document 5): name: is required',
        'cluster.yml:22:1 Node (document 5): smp: is required: give cpu: N or smp: {cpus: N, …} (exactly one of them)',
        'cluster.yml:23:1 Node (document 5): spec: unknown field: the pre-1.0 placemat "spec:" wrapper is not supported; put its fields at the top level',
      ],
    },
    {
      what: 'wrong types',
      text:
        NETWORKS +
        lines(
          'kind: Node',
          'name: vm',
          'cpu: "2"',
          'uefi: yes',
          'interfaces: r0-node1',
          '---',
          'kind: NetworkNamespace',
          'name: ns',
          'interfaces: [42, {network: 7}]',
          'apps: [{name: a, command: []}]',
          '---',
          'kind: Node',
          'name: weird',
          'type: container',
        ),
      expected: [
        'cluster.yml:11:6 Node vm: cpu: must be a number, found "2"',
        'cluster.yml:12:7 Node vm: uefi: must be true or false, found "yes"',
        'cluster.yml:13:13 Node vm: interfaces: must be a list, found "r0-node1"',
        'cluster.yml:17:14 NetworkNamespace ns: interfaces[0]: must be a network name or a mapping {network, addresses, netem}, found 42',
        'cluster.yml:17:28 NetworkNamespace ns: interfaces[1].network: must be a string, found 7',
        'cluster.yml:18:27 NetworkNamespace ns: apps[0].command: must have at least 1 item',
        'cluster.yml:22:7 Node weird: type: must be vm or netns, found "container"',
      ],
    },
    {
      what: 'duplicate names: within a kind, between Nodes and NetworkNamespaces, apps and volumes',
      text:
        NETWORKS +
        lines(
          'kind: Network',
          'name: r0-node1',
          '---',
          'kind: NetworkNamespace',
          'name: tor',
          'interfaces: [r0-node1]',
          '---',
          'kind: Node',
          'name: tor',
          'type: netns',
          'interfaces: [r0-node1]',
          'apps: [{ name: bird, command: [a] }, { name: bird, command: [b] }]',
          '---',
          'kind: Node',
          'name: vm',
          'cpu: 1',
          'volumes: [{ kind: raw, name: d, size: 1G }, { kind: raw, name: d, size: 2G }]',
        ),
      expected: [
        'cluster.yml:10:7 Network r0-node1: name: duplicate Network name "r0-node1" (first defined at cluster.yml:2:7)',
        'cluster.yml:17:7 Node tor: name: "tor" is already the name of NetworkNamespace at cluster.yml:13:7: Nodes and NetworkNamespaces share one set of names',
        'cluster.yml:20:46 Node tor: apps[1].name: duplicate app name "bird"',
        'cluster.yml:25:64 Node vm: volumes[1].name: duplicate volume name "d"',
      ],
    },
    {
      what: '${YAGURA} inside a larger command word (it expands into several words)',
      text:
        NETWORKS +
        lines(
          'kind: Node',
          'name: boot',
          'type: netns',
          'interfaces: [r0-node1]',
          "apps: [{ name: ok, command: ['${YAGURA}', serve] }, { name: bad, command: [sh, '-c', 'exec ${YAGURA} serve'] }]",
        ),
      expected: [
        "cluster.yml:13:86 Node boot: apps[1].command[2]: ${YAGURA} must be a word of its own: it stands for the Yagura CLI (node and its entry), e.g. ['${YAGURA}', serve]",
      ],
    },
    {
      what: 'references to unknown networks, images and device classes',
      text:
        NETWORKS +
        lines(
          'kind: Image',
          'name: ubuntu',
          'url: https://example.com/ubuntu.img',
          '---',
          'kind: Node',
          'name: rack0-cs1',
          'cpu: 1',
          'interfaces:',
          '  - r0-node1',
          '  - network: r0-node3',
          '  - r0-nod1',
          'volumes:',
          '  - {kind: image, name: root, image: ubunt}',
          '  - {kind: raw, name: d, size: 1G, device-class: ssd}',
        ),
      expected: [
        'cluster.yml:18:14 Node rack0-cs1: interfaces[1].network: unknown network "r0-node3" (known: r0-node1, bmc)',
        'cluster.yml:19:5 Node rack0-cs1: interfaces[2]: unknown network "r0-nod1" (known: r0-node1, bmc)',
        'cluster.yml:21:38 Node rack0-cs1: volumes[0].image: unknown image "ubunt" (known: ubuntu)',
        'cluster.yml:22:50 Node rack0-cs1: volumes[1].device-class: unknown device class "ssd" (no DeviceClass is defined)',
      ],
    },
    {
      what: 'addresses outside their network, used twice, and invalid CIDRs',
      text:
        NETWORKS +
        lines(
          'kind: NetworkNamespace',
          'name: spine1',
          'interfaces:',
          '  - network: bmc',
          '    addresses: [10.72.32.1/20, 10.72.16.1/20, 10.72.16.2/20, fd00::1/64]',
          '  - network: r0-node1',
          '    addresses: [10.0.0.1, 10.0.0.300/24, 10.0.0.1/33, 10.0.0.0/24, 10.0.0.255/24, 10.0.0.4/31]',
          '---',
          'kind: Node',
          'name: s1',
          'type: netns',
          'interfaces: [{network: bmc, addresses: [10.72.16.2/20]}]',
        ),
      expected: [
        "cluster.yml:13:17 NetworkNamespace spine1: interfaces[0].addresses[0]: 10.72.32.1/20 is outside network bmc's range 10.72.16.0/20",
        'cluster.yml:13:32 NetworkNamespace spine1: interfaces[0].addresses[1]: 10.72.16.1 is already used on network bmc by the bridge of Network bmc',
        "cluster.yml:13:62 NetworkNamespace spine1: interfaces[0].addresses[3]: fd00::1/64 is outside network bmc's range 10.72.16.0/20",
        'cluster.yml:15:17 NetworkNamespace spine1: interfaces[1].addresses[0]: must be an address with a prefix length, e.g. 10.0.0.1/24 or fd00::1/64',
        'cluster.yml:15:27 NetworkNamespace spine1: interfaces[1].addresses[1]: "10.0.0.300" is not an IPv4 or IPv6 address',
        'cluster.yml:15:42 NetworkNamespace spine1: interfaces[1].addresses[2]: prefix length must be 0–32 for an IPv4 address',
        'cluster.yml:15:55 NetworkNamespace spine1: interfaces[1].addresses[3]: 10.0.0.0 is the network address of /24; give a host address, e.g. 10.0.0.1/24',
        'cluster.yml:15:68 NetworkNamespace spine1: interfaces[1].addresses[4]: 10.0.0.255 is the broadcast address of /24; give a host address',
        'cluster.yml:20:41 Node s1: interfaces[0].addresses[0]: 10.72.16.2 is already used on network bmc by NetworkNamespace spine1 (cluster.yml:13:47)',
      ],
    },
    {
      what: 'invalid units',
      text:
        NETWORKS +
        lines(
          'kind: Node',
          'name: vm',
          'cpu: 1',
          'memory: 2048',
          'interfaces:',
          '  - network: r0-node1',
          '    netem: {delay: 10, jitter: 1h, loss: 150%, rate: 10mbps}',
          '  - network: r0-node1',
          '    netem: {delay: "0.0001ms", loss: "1", rate: 1xbit}',
          'volumes: [{kind: raw, name: d, size: 10GB}, {kind: raw, name: e, size: 0G}]',
          '---',
          'kind: Node',
          'name: vm2',
          'cpu: 1',
          'memory: 1.5K',
        ),
      expected: [
        'cluster.yml:12:9 Node vm: memory: must be a size with a unit, e.g. 2G (QEMU would read a bare number as MiB), found 2048',
        'cluster.yml:15:20 Node vm: interfaces[0].netem.delay: must be a duration with a unit, e.g. 10ms, found 10',
        'cluster.yml:15:32 Node vm: interfaces[0].netem.jitter: must be a duration with a unit: us, ms or s, e.g. 10ms',
        'cluster.yml:15:42 Node vm: interfaces[0].netem.loss: must be at most 100%',
        'cluster.yml:15:54 Node vm: interfaces[0].netem.rate: "mbps" means bytes per second to tc and is easily misread; write bits per second, e.g. 10mbit (or ×8 of that for bytes)',
        'cluster.yml:17:20 Node vm: interfaces[1].netem.delay: must be a whole number of microseconds',
        'cluster.yml:17:38 Node vm: interfaces[1].netem.loss: must be a percentage, e.g. 1% or 0.5%',
        'cluster.yml:17:49 Node vm: interfaces[1].netem.rate: must be a rate in bits per second: bit, kbit, mbit, gbit, tbit (or kibit…tibit), e.g. 100mbit',
        'cluster.yml:18:38 Node vm: volumes[0].size: must be a size with a binary unit: K, M, G or T (or Ki, Mi, Gi, Ti), e.g. 512M or 2G',
        'cluster.yml:18:72 Node vm: volumes[1].size: must be larger than 0',
        'cluster.yml:23:9 Node vm2: memory: must be a whole number of MiB, e.g. 1536M',
      ],
    },
    {
      what: 'cpu and smp: both, neither, QEMU topology, NUMA',
      text: lines(
        'kind: Node',
        'name: both',
        'cpu: 2',
        'smp: {cpus: 2}',
        '---',
        'kind: Node',
        'name: neither',
        'memory: 1G',
        '---',
        'kind: Node',
        'name: topo',
        'smp: {cpus: 12, sockets: 2, cores: 4, threads: 1}',
        '---',
        'kind: Node',
        'name: indivisible',
        'smp: {cpus: 4, maxcpus: 3, cores: 3}',
        'numa: {nodes: 3}',
        '---',
        'kind: Node',
        'name: odd',
        'smp: {maxcpus: 6, cpus: 2, cores: 4}',
        '---',
        'kind: Node',
        'name: empty',
        'smp: {}',
        'numa: {nodes: 0}',
      ),
      expected: [
        'cluster.yml:4:6 Node both: smp: give either cpu or smp, not both',
        'cluster.yml:6:1 Node neither: smp: is required: give cpu: N or smp: {cpus: N, …} (exactly one of them)',
        'cluster.yml:12:6 Node topo: smp: sockets × dies × cores × threads is 8, but must equal cpus (12)',
        'cluster.yml:16:13 Node indivisible: smp.cpus: must be at most maxcpus (3)',
        'cluster.yml:17:15 Node indivisible: numa.nodes: must divide the 4 CPUs evenly: every NUMA node gets the same number of CPUs',
        'cluster.yml:21:6 Node odd: smp: maxcpus (6) is not a multiple of the given topology (4)',
        'cluster.yml:25:6 Node empty: smp: give at least cpus (fields: cpus, maxcpus, sockets, dies, cores, threads)',
        'cluster.yml:26:15 Node empty: numa.nodes: must be at least 1, found 0',
      ],
    },
    {
      what: 'network rules: addresses by type, NAT, name length',
      text: lines(
        'kind: Network',
        'name: link',
        'address: 10.0.0.1/31',
        'use-nat: true',
        '---',
        'kind: Network',
        'name: ext',
        'type: external',
        '---',
        'kind: Network',
        'name: bmc',
        'type: bmc',
        'address: 10.72.16.1/20',
        'use-nat: true',
        '---',
        'kind: Network',
        'name: spine1-to-rack10',
        '---',
        'kind: Network',
        'name: yg-up',
        'type: cloud',
      ),
      expected: [
        'cluster.yml:3:10 Network link: address: an internal network has no address (it is a plain L2 segment): remove it or use type: external',
        'cluster.yml:4:10 Network link: use-nat: only an external network can use NAT',
        "cluster.yml:8:7 Network ext: address: is required for an external network: the bridge's address, e.g. 10.0.0.1/24",
        'cluster.yml:14:10 Network bmc: use-nat: only an external network can use NAT',
        'cluster.yml:17:7 Network spine1-to-rack10: name: must be at most 15 characters: it names the bridge, a Linux interface (IFNAMSIZ)',
        'cluster.yml:20:7 Network yg-up: name: "lo" and names starting with "yg-" are reserved for links Yagura creates',
        'cluster.yml:21:7 Network yg-up: type: must be one of internal, external, bmc, found "cloud"',
      ],
    },
    {
      what: 'images: file or url, exactly one; URLs are checked',
      text: lines(
        'kind: Image',
        'name: both',
        'file: a.img',
        'url: https://example.com/a.img',
        '---',
        'kind: Image',
        'name: neither',
        'compression: xz',
        '---',
        'kind: Image',
        'name: ftp',
        'url: ftp://example.com/a.img',
      ),
      expected: [
        'cluster.yml:4:6 Image both: url: give either file or url, not both',
        'cluster.yml:6:1 Image neither: file: is required: give file (a local image) or url',
        'cluster.yml:8:14 Image neither: compression: must be one of gzip, bzip2, found "xz"',
        'cluster.yml:12:6 Image ftp: url: must be an http:// or https:// URL',
      ],
    },
    {
      what: 'BMC credentials, serials, netem without content',
      text: lines(
        'kind: Network',
        'name: n',
        '---',
        'kind: Node',
        'name: a',
        'cpu: 1',
        'smbios: {serial: s-1}',
        'bmc: {username: "ad min", password: this-password-is-too-long}',
        '---',
        'kind: Node',
        'name: b',
        'cpu: 1',
        'smbios: {serial: s-1}',
        '---',
        'kind: Node',
        'name: c',
        'cpu: 1',
        `smbios: {serial: ${defaultSerial('d')}}`,
        'interfaces: [{network: n, netem: {}}, {network: n, netem: {jitter: 1ms}}]',
        '---',
        'kind: Node',
        'name: d',
        'cpu: 1',
      ),
      expected: [
        'cluster.yml:8:6 Node a: bmc: there is no Network of type bmc, so the node gets no BMC: add one or remove bmc',
        'cluster.yml:8:17 Node a: bmc.username: must be 1–16 printable ASCII characters without spaces or ":" (IPMI limit)',
        'cluster.yml:8:37 Node a: bmc.password: must be 1–20 printable ASCII characters (IPMI limit)',
        'cluster.yml:13:18 Node b: smbios.serial: SMBIOS serial s-1 is already used by Node a (cluster.yml:7:18); serials identify machines and BMCs',
        'cluster.yml:19:34 Node c: interfaces[0].netem: give at least one of delay, jitter, loss, rate (or remove netem)',
        'cluster.yml:19:68 Node c: interfaces[1].netem.jitter: needs delay: jitter varies the delay around its value',
        `cluster.yml:22:7 Node d: name: SMBIOS serial ${defaultSerial('d')} is already used by Node c (cluster.yml:18:18); serials identify machines and BMCs`,
      ],
    },
    {
      what: 'YAML syntax: errors, duplicate keys, unknown aliases, without cascading',
      text: lines(
        'kind: Network',
        'name: n',
        'name: m',
        '---',
        'kind: NetworkNamespace',
        'name: ns',
        'interfaces: [n, *nowhere]',
        '---',
        'kind: Node',
        'name: x',
        '  cpu: 1',
      ),
      expected: [
        'cluster.yml:3:1 YAML: Map keys must be unique',
        'cluster.yml:7:17 YAML: unknown alias *nowhere',
        'cluster.yml:10:7 YAML: Nested mappings are not allowed in compact mappings',
        'cluster.yml:10:7 YAML: Implicit keys need to be on a single line',
      ],
    },
  ];
  for (const { what, text, expected } of cases) {
    it(what, () => assert.deepEqual(problemsOf(text), expected));
  }

  it('reports an empty topology', () => {
    assert.deepEqual(problemsOf(lines('# nothing yet', '---')), [
      'cluster.yml:1:1 the topology defines nothing: give documents with a kind (Network, NetworkNamespace, Node, Image, DeviceClass)',
    ]);
    assert.deepEqual(problemsOf(...([] as string[])), [
      '(no files):1:1 the topology defines nothing: give documents with a kind (Network, NetworkNamespace, Node, Image, DeviceClass)',
    ]);
  });

  it('names the file each problem is in, in the order the files were given', () => {
    const problems = problemsOf(
      { path: 'nodes.yml', text: lines('kind: Node', 'name: a', 'type: netns', 'interfaces: [r0]') },
      { path: 'networks.yml', text: lines('kind: Network', 'name: r0', 'type: external') },
    );
    assert.deepEqual(problems, [
      "networks.yml:3:7 Network r0: address: is required for an external network: the bridge's address, e.g. 10.0.0.1/24",
    ]);
    assert.deepEqual(
      problemsOf(
        { path: 'b.yml', text: lines('kind: Network', 'name: n', 'bad: 1') },
        { path: 'a.yml', text: lines('kind: Network', 'name: n') },
      ),
      [
        'b.yml:3:1 Network n: bad: unknown field (known here: kind, name, type, use-nat, address)',
        'a.yml:2:7 Network n: name: duplicate Network name "n" (first defined at b.yml:2:7)',
      ],
    );
  });

  it('throws a TopologyError, a UserError whose message lists every problem', () => {
    const text = fixture('cluster-with-errors.yml').text;
    assert.throws(
      () => parseTopology([{ path: 'cluster.yml', text }]),
      (error: unknown) => {
        assert.ok(error instanceof TopologyError && error instanceof UserError);
        assert.equal(error.exitCode, 1);
        assert.equal(error.problems.length, 3);
        assert.deepEqual(error.problems[0], {
          file: 'cluster.yml',
          line: 23,
          column: 14,
          resource: 'Node rack0-cs1',
          field: 'interfaces[1].network',
          message: 'unknown network "r0-node3" (known: r0-node1, r0-node2)',
        });
        assert.match(
          error.message,
          /^3 problems in the topology:\n {2}cluster\.yml:23:14 Node rack0-cs1: interfaces\[1\]\.network: /,
        );
        return true;
      },
    );
  });
});

describe('dc topology: direct kernel boot and fixed BMC addresses (Yagura extensions)', () => {
  it('resolves kernel and initrd like other paths, keeps append, and fills in BMC credentials around an address', () => {
    const topology = parseTopology([
      {
        path: 'dc/cluster.yml',
        text: lines(
          NETWORKS,
          'kind: Node',
          'name: a',
          'cpu: 1',
          'kernel: boot/vmlinuz',
          'initrd: /srv/initrd.gz',
          'append: console=ttyS0 yagura.stay=1',
          'bmc: {address: 10.72.16.5}',
          '---',
          'kind: Node',
          'name: b',
          'cpu: 1',
          'kernel: vmlinuz',
          'bmc: {username: admin, password: secret, address: 10.72.31.254}',
          '---',
          'kind: Node',
          'name: c',
          'cpu: 1',
        ),
      },
    ]);
    const [a, b, c] = topology.nodes as VmNode[];
    assert.deepEqual([a!.kernel, a!.initrd, a!.append], ['dc/boot/vmlinuz', '/srv/initrd.gz', 'console=ttyS0 yagura.stay=1']);
    assert.deepEqual(a!.bmc, { username: 'cybozu', password: 'cybozu', address: '10.72.16.5' }, 'default credentials');
    assert.deepEqual([b!.kernel, 'initrd' in b!, 'append' in b!], ['dc/vmlinuz', false, false]);
    assert.deepEqual(b!.bmc, { username: 'admin', password: 'secret', address: '10.72.31.254' });
    assert.deepEqual(c!.bmc, { username: 'cybozu', password: 'cybozu' }, 'no address: the guest announces it');
    assert.equal('kernel' in c!, false);
  });

  it('reports initrd or append without kernel, credentials given by halves, and bad BMC addresses', () => {
    const text = lines(
      NETWORKS,
      'kind: NetworkNamespace',
      'name: spine1',
      'interfaces: [{network: bmc, addresses: [10.72.16.2/20]}]',
      '---',
      'kind: Node',
      'name: a',
      'cpu: 1',
      'initrd: initrd.gz',
      'append: "console=ttyS0"',
      'bmc: {username: admin, address: 10.72.16.5/20}',
      '---',
      'kind: Node',
      'name: b',
      'cpu: 1',
      'kernel: vmlinuz',
      'append: "one\\ntwo"',
      'bmc: {password: secret, address: 10.72.32.5}',
      '---',
      'kind: Node',
      'name: c',
      'cpu: 1',
      'bmc: {address: 10.72.16.1}',
      '---',
      'kind: Node',
      'name: d',
      'cpu: 1',
      'bmc: {address: 10.72.16.2}',
      '---',
      'kind: Node',
      'name: e',
      'cpu: 1',
      'bmc: {address: 10.72.16.0}',
      '---',
      'kind: Node',
      'name: f',
      'cpu: 1',
      'bmc: {address: 10.72.16.7}',
      '---',
      'kind: Node',
      'name: g',
      'cpu: 1',
      'bmc: {address: 10.72.16.7}',
    );
    assert.deepEqual(problemsOf(text), [
      'cluster.yml:17:9 Node a: initrd: needs kernel: initrd is only used with direct kernel boot',
      'cluster.yml:18:9 Node a: append: needs kernel: append is only used with direct kernel boot',
      'cluster.yml:19:6 Node a: bmc.password: give both username and password, or neither (the default is cybozu / cybozu)',
      'cluster.yml:19:33 Node a: bmc.address: must be an IPv4 address without a prefix length, e.g. 10.72.16.5 (the bmc network gives the prefix)',
      'cluster.yml:25:9 Node b: append: must be one line: the kernel command line',
      'cluster.yml:26:6 Node b: bmc.username: give both username and password, or neither (the default is cybozu / cybozu)',
      "cluster.yml:26:34 Node b: bmc.address: 10.72.32.5 is outside every bmc network's range (bmc 10.72.16.0/20)",
      'cluster.yml:31:16 Node c: bmc.address: 10.72.16.1 is already used on network bmc by the bridge of Network bmc',
      'cluster.yml:36:16 Node d: bmc.address: 10.72.16.2 is already used on network bmc by NetworkNamespace spine1 (cluster.yml:12:41)',
      'cluster.yml:41:16 Node e: bmc.address: 10.72.16.0 is the network or broadcast address of network bmc (10.72.16.0/20)',
      'cluster.yml:51:16 Node g: bmc.address: 10.72.16.7 is already used on network bmc by the BMC of Node f (cluster.yml:46:16)',
    ]);
  });

  it('refuses a BMC address when no bmc network has an IPv4 range', () => {
    assert.deepEqual(
      problemsOf(
        lines(
          'kind: Network',
          'name: bmc',
          'type: bmc',
          'address: fd00::1/64',
          '---',
          'kind: Node',
          'name: a',
          'cpu: 1',
          'bmc: {address: 10.0.0.5}',
        ),
      ),
      [
        "cluster.yml:9:16 Node a: bmc.address: 10.0.0.5 is outside every bmc network's range (no bmc network has an IPv4 address)",
      ],
    );
  });
});

describe('dc topology: units and addresses', () => {
  it('parses netem quantities and sizes into base units', () => {
    assert.deepEqual(
      ['10ms', '0.5ms', '250us', '250µs', '1s', '0.1ms', '0ms'].map(parseDelay),
      [10_000, 500, 250, 250, 1_000_000, 100, 0].map((value) => ({ value })),
    );
    assert.deepEqual(parseDelay('61s'), { problem: 'must be at most 60s' });
    assert.deepEqual(
      ['1%', '0.25%', '100%', '0%'].map(parsePercent),
      [1, 0.25, 100, 0].map((value) => ({ value })),
    );
    assert.deepEqual(
      ['100mbit', '1gbit', '1Gbit', '512kibit', '8bit', '1.5mbit'].map(parseRate),
      [1e8, 1e9, 1e9, 512 * 1024, 8, 1.5e6].map((value) => ({ value })),
    );
    assert.ok('problem' in parseRate('4bit'));
    assert.ok('problem' in parseRate('1kibps'));
    assert.deepEqual(
      ['512M', '2G', '2g', '2Gi', '1.5T', '64K'].map(parseSize),
      [512 * 2 ** 20, 2 * 2 ** 30, 2 * 2 ** 30, 2 * 2 ** 30, 1.5 * 2 ** 40, 65536].map((value) => ({ value })),
    );
    for (const bad of ['2', '2GB', '2 G B', 'G', '-1G', '0.3K']) assert.ok('problem' in parseSize(bad), bad);
  });

  it('parses IPv4 and IPv6 interface addresses and checks containment', () => {
    assert.deepEqual(parseInterfaceAddress('10.69.0.65/26'), v4('10.69.0.65/26', '10.69.0.64/26'));
    assert.deepEqual(parseInterfaceAddress('10.72.1.0/31'), v4('10.72.1.0/31', '10.72.1.0/31'));
    assert.deepEqual(parseInterfaceAddress('2001:DB8:0:0:1:0:0:1/64'), {
      cidr: '2001:db8::1:0:0:1/64',
      address: '2001:db8::1:0:0:1',
      prefixLength: 64,
      family: 6,
      network: '2001:db8::/64',
    });
    assert.equal((parseInterfaceAddress('::ffff:10.0.0.1/96') as InterfaceAddress).address, '::ffff:a00:1');
    for (const bad of [
      '10.0.0.1',
      '10.0.0.1/',
      '10.0.0.01/24',
      '10.0.0.1/024',
      '1::2::3/64',
      '1:2:3:4:5:6:7:8:9/64',
      'fd00::/64',
      'x/8',
    ])
      assert.ok('problem' in parseInterfaceAddress(bad), bad);
    const range = parseInterfaceAddress('10.72.16.1/20') as InterfaceAddress;
    const inside = parseInterfaceAddress('10.72.31.254/20') as InterfaceAddress;
    const outside = parseInterfaceAddress('10.72.32.1/20') as InterfaceAddress;
    assert.equal(networkContains(range, inside), true);
    assert.equal(networkContains(range, outside), false);
    assert.equal(networkContains(range, parseInterfaceAddress('fd00::1/64') as InterfaceAddress), false);
  });
});

describe('dc topology: properties', () => {
  const seeds = [fixture('example.yml').text, fixture('multi-rack-nodes.yml').text, fixture('cluster-with-errors.yml').text];
  const tokens = [
    'kind: ',
    'Node',
    'Network',
    'NetworkNamespace',
    'Image',
    'DeviceClass',
    'name: ',
    'type: netns',
    'interfaces:',
    '- ',
    '  ',
    '\n',
    '---\n',
    '{',
    '}',
    '[',
    ']',
    ',',
    ': ',
    '&a ',
    '*a',
    '!!str ',
    '!custom ',
    '"',
    "'",
    '#',
    '? ',
    '|\n',
    'netem: {delay: 1ms, jitter: 2ms}',
    'smp: {cpus: 2, cores: 3}',
    'cpu: 3',
    'addresses: [10.0.0.1/24]',
    'network: x',
    '__proto__: 1',
    'constructor: ',
    'null',
    '1e400',
    'true',
    'bmc',
    'volumes:',
    'kind: image',
    'size: 1G',
    '\t',
    '%YAML 1.2\n',
    '<<: *a',
  ];
  const yamlish = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.array(fc.constantFrom(...tokens), { maxLength: 60 }).map((parts) => parts.join('')),
    fc
      .tuple(fc.constantFrom(...seeds), fc.nat(), fc.nat({ max: 40 }), fc.string({ maxLength: 12 }))
      .map(([seed, at, cut, insert]) => {
        const i = at % (seed.length + 1);
        return seed.slice(0, i) + insert + seed.slice(i + cut);
      }),
  );

  it('arbitrary YAML text never throws anything but a TopologyError, and every problem points into a given file', () => {
    fc.assert(
      fc.property(fc.array(yamlish, { minLength: 1, maxLength: 3 }), (texts) => {
        const files = texts.map((text, i) => ({ path: `f${i}.yml`, text }));
        try {
          parseTopology(files);
        } catch (error) {
          if (!(error instanceof TopologyError)) throw error;
          assert.ok(error.problems.length > 0);
          for (const problem of error.problems) {
            const file = files.find((candidate) => candidate.path === problem.file);
            assert.ok(file, `problem in an unknown file: ${formatProblem(problem)}`);
            assert.ok(problem.line >= 1 && problem.line <= file.text.split('\n').length, formatProblem(problem));
            assert.ok(problem.column >= 1, formatProblem(problem));
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('generated valid topologies parse, keeping every resource in order', () => {
    // Quoted below, so "true" or "null" stay names; "lo" and "yg-…" are reserved.
    const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,9}$/).filter((n) => n !== 'lo' && !n.startsWith('yg-'));
    const q = JSON.stringify;
    const topology = fc.record({
      networks: fc.uniqueArray(name, { minLength: 1, maxLength: 5 }),
      hosts: fc.uniqueArray(
        fc.record({
          name,
          type: fc.constantFrom('vm', 'netns', 'NetworkNamespace'),
          cpus: fc.integer({ min: 1, max: 64 }),
          delayMs: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
        }),
        { selector: (host) => host.name, maxLength: 6 },
      ),
    });
    fc.assert(
      fc.property(topology, ({ networks, hosts }) => {
        const docs = [
          ...networks.map((network) => `kind: Network\nname: ${q(network)}\n`),
          ...hosts.map((host, i) => {
            const network = networks[i % networks.length]!;
            const netem = host.delayMs === undefined ? '' : `, netem: {delay: ${host.delayMs}ms}`;
            const iface = `interfaces: [{network: ${q(network)}${netem}}]\n`;
            if (host.type === 'NetworkNamespace') return `kind: NetworkNamespace\nname: ${q(host.name)}\n${iface}`;
            if (host.type === 'netns') return `kind: Node\nname: ${q(host.name)}\ntype: netns\n${iface}`;
            return `kind: Node\nname: ${q(host.name)}\ncpu: ${host.cpus}\n${iface}`;
          }),
        ];
        const parsed = parseTopology([{ path: 'gen.yml', text: docs.join('---\n') }]);
        assert.deepEqual(
          parsed.networks.map((network) => network.name),
          networks,
        );
        assert.deepEqual(
          [...parsed.networkNamespaces, ...parsed.nodes].map((host) => host.name).sort(),
          hosts.map((host) => host.name).sort(),
        );
        for (const node of parsed.nodes) {
          const host = hosts.find((candidate) => candidate.name === node.name)!;
          if (node.type === 'vm') assert.equal(node.smp.cpus, host.cpus);
          assert.equal(node.interfaces[0]!.netem?.delayUs, host.delayMs === undefined ? undefined : host.delayMs * 1000);
        }
      }),
      { numRuns: 300 },
    );
  });
});
