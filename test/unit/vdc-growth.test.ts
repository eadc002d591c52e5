import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { generateSite, parseSiteSpec } from '../../src/fabric/index.js';
import { planGrowth, refusalMessage, type GrowthPlan, type RunningDc } from '../../src/vdc/growth-plan.js';
import { planBuild } from '../../src/vdc/plan.js';
import { parseTopology, type Topology } from '../../src/vdc/spec/index.js';

const GROW = 'test/fixtures/vdc/grow';

function topologyOf(text: string, path = 'dc.yml'): Topology {
  return parseTopology([{ path, text }]);
}

function fixture(name: string): Topology {
  const path = `${GROW}/${name}`;
  return topologyOf(readFileSync(path, 'utf8'), path);
}

/** A running DC as the run dir holds it: plan and topology through JSON. */
function running(topology: Topology, impairments: 'tc' | 'relay' = 'tc'): RunningDc {
  const plan = planBuild('lab', topology, { impairments });
  const stored = JSON.parse(JSON.stringify({ ...plan, taps: Object.fromEntries(plan.taps) })) as RunningDc['plan'] & {
    taps: Record<string, string[]>;
  };
  return {
    plan: { ...stored, taps: new Map(Object.entries(stored.taps)) },
    topology: JSON.parse(JSON.stringify(topology)) as Topology,
  };
}

function grown(dc: RunningDc, wanted: Topology): GrowthPlan {
  const decision = planGrowth(dc, wanted);
  assert.ok('growth' in decision, `refused: ${'refused' in decision ? decision.refused.join('; ') : ''}`);
  return decision.growth;
}

function refused(dc: RunningDc, wanted: Topology): string[] {
  const decision = planGrowth(dc, wanted);
  assert.ok('refused' in decision, 'expected a refusal');
  return decision.refused;
}

const NET = (name: string) => `---\nkind: Network\nname: ${name}\n`;
const ROUTER = (name: string, ifaces: string, apps = '[]') =>
  `---\nkind: NetworkNamespace\nname: ${name}\ninterfaces: ${ifaces}\napps: ${apps}\n`;
const NODE = (name: string, ifaces: string, apps = '[]') =>
  `---\nkind: Node\ntype: netns\nname: ${name}\ninterfaces: ${ifaces}\napps: ${apps}\n`;
const VM = (name: string, ifaces: string) => `---\nkind: Node\nname: ${name}\ncpu: 1\ninterfaces: ${ifaces}\n`;
const SLEEP = '[{name: idle, command: [sleep, infinity]}]';

describe('vdc growth: what dc apply adds to a running DC', () => {
  const base = running(fixture('base.yml'));

  it('adds a network, a node with its app and an existing router’s new interface, and names nothing existing anew', () => {
    const growth = grown(base, fixture('grown.yml'));
    assert.deepEqual(growth.networks, ['lan2']);
    assert.deepEqual(growth.members, ['n3']);
    assert.deepEqual(growth.vms, []);
    assert.deepEqual(
      growth.links.map((link) => `${link.member}/${link.interfaceName}=${link.hostSide}@${link.network}`),
      ['r1/eth1=yg-v2@lan2', 'n3/eth0=yg-v3@lan2'],
    );
    assert.deepEqual(growth.apps, [{ member: 'n3', app: 'idle' }]);
    assert.deepEqual(growth.unchangedApps, []);
    assert.equal(growth.nothingToDo, false);
    // Existing ends keep their names although r1's new interface comes before r2's in the topology.
    for (const link of base.plan.links)
      assert.ok(
        growth.plan.links.some(
          (now) => now.member === link.member && now.interfaceName === link.interfaceName && now.hostSide === link.hostSide,
        ),
      );
    assert.deepEqual(growth.work.namespaces, ['yg-lab.n3']);
    assert.deepEqual(growth.work.dcIpCommands, [
      'link add name lan2 type bridge stp_state 0 forward_delay 0',
      'link set dev lan2 up',
      'link add name yg-v2 type veth peer name eth1 netns yg-lab.r1',
      'link set dev yg-v2 master lan2 up',
      'link add name yg-v3 type veth peer name eth0 netns yg-lab.n3',
      'link set dev yg-v3 master lan2 up',
    ]);
    const r1 = growth.work.members.find((member) => member.member === 'r1')!;
    assert.deepEqual(r1.ipCommands, ['addr add 10.0.1.1/24 dev eth1', 'link set dev eth1 up']);
    assert.deepEqual(r1.sysctls, [], 'an existing router is not reconfigured');
    const n3 = growth.work.members.find((member) => member.member === 'n3')!;
    assert.deepEqual(n3.ipCommands, ['link set dev lo up', 'addr add 10.0.1.10/24 dev eth0', 'link set dev eth0 up']);
    assert.deepEqual(
      growth.work.members.map((member) => member.member),
      ['r1', 'n3'],
    );
  });

  it('says nothing to do for the same files, and for them again once grown', () => {
    const same = grown(base, fixture('base.yml'));
    assert.equal(same.nothingToDo, true);
    assert.deepEqual(same.work.namespaces, []);
    assert.deepEqual(same.work.dcIpCommands, []);
    assert.deepEqual(same.work.members, []);
    const once = grown(base, fixture('grown.yml'));
    const again = grown(running(once.topology), fixture('grown.yml'));
    assert.equal(again.nothingToDo, true);
  });

  it('refuses what changes or disappears, naming each thing (table)', () => {
    const dc = running(
      topologyOf(
        NET('a') +
          NET('b') +
          ROUTER('r1', '[{network: a, addresses: [10.0.0.1/24]}]', SLEEP) +
          NODE('n1', '[a]', SLEEP) +
          VM('vm1', '[b]'),
      ),
    );
    const cases: [string, string, RegExp][] = [
      [
        'a removed network',
        NET('a') + ROUTER('r1', '[{network: a, addresses: [10.0.0.1/24]}]', SLEEP) + NODE('n1', '[a]', SLEEP) + VM('vm1', '[a]'),
        /^network b removed; VM vm1 changed \(interfaces\)$/,
      ],
      [
        'a changed network',
        NET('a') +
          `---\nkind: Network\nname: b\ntype: external\naddress: 10.9.0.1/24\n` +
          ROUTER('r1', '[{network: a, addresses: [10.0.0.1/24]}]', SLEEP) +
          NODE('n1', '[a]', SLEEP) +
          VM('vm1', '[b]'),
        /^network b changed \(address, type\)$/,
      ],
      [
        'a removed node',
        NET('a') + NET('b') + ROUTER('r1', '[{network: a, addresses: [10.0.0.1/24]}]', SLEEP) + VM('vm1', '[b]'),
        /^node n1 removed$/,
      ],
      [
        'a readdressed interface',
        NET('a') +
          NET('b') +
          ROUTER('r1', '[{network: a, addresses: [10.0.0.2/24]}]', SLEEP) +
          NODE('n1', '[a]', SLEEP) +
          VM('vm1', '[b]'),
        /^router r1 changed eth0$/,
      ],
      [
        'an interface moved to another network',
        NET('a') +
          NET('b') +
          ROUTER('r1', '[{network: a, addresses: [10.0.0.1/24]}]', SLEEP) +
          NODE('n1', '[b]', SLEEP) +
          VM('vm1', '[b]'),
        /^node n1 changed eth0$/,
      ],
      [
        'a router that became a node',
        NET('a') +
          NET('b') +
          NODE('r1', '[{network: a, addresses: [10.0.0.1/24]}]', SLEEP) +
          NODE('n1', '[a]', SLEEP) +
          VM('vm1', '[b]'),
        /^router r1 became a node$/,
      ],
      [
        'a lost app',
        NET('a') +
          NET('b') +
          ROUTER('r1', '[{network: a, addresses: [10.0.0.1/24]}]') +
          NODE('n1', '[a]', SLEEP) +
          VM('vm1', '[b]'),
        /^router r1 lost apps idle$/,
      ],
      [
        'a VM with a new NIC',
        NET('a') +
          NET('b') +
          ROUTER('r1', '[{network: a, addresses: [10.0.0.1/24]}]', SLEEP) +
          NODE('n1', '[a]', SLEEP) +
          VM('vm1', '[b, a]'),
        /^VM vm1 changed \(interfaces\)$/,
      ],
      [
        'a VM with more memory',
        NET('a') +
          NET('b') +
          ROUTER('r1', '[{network: a, addresses: [10.0.0.1/24]}]', SLEEP) +
          NODE('n1', '[a]', SLEEP) +
          VM('vm1', '[b]') +
          'memory: 2G\n',
        /^VM vm1 changed \(memoryMiB\)$/,
      ],
    ];
    for (const [label, text, problem] of cases) {
      assert.match(refused(dc, topologyOf(text)).join('; '), problem, label);
    }
    const two = running(topologyOf(NET('a') + NET('b') + NODE('n1', '[a, b]')));
    assert.deepEqual(refused(two, topologyOf(NET('a') + NET('b') + NODE('n1', '[a]'))), ['node n1 lost interfaces (2 → 1)']);
    const message = refusalMessage('lab', ['node n1 removed', 'network b removed']);
    assert.equal(message.split('\n').length, 1);
    assert.match(message, /^data center "lab" was not changed: only additions .*: node n1 removed; network b removed/);
  });

  it('adds apps to an existing member and keeps a running app whose command changed as it runs', () => {
    const dc = running(topologyOf(NET('a') + NODE('n1', '[a]', SLEEP)));
    const growth = grown(
      dc,
      topologyOf(
        NET('a') + NODE('n1', '[a]', '[{name: idle, command: [sleep, "99"]}, {name: web, command: [python3, -m, http.server]}]'),
      ),
    );
    assert.deepEqual(growth.apps, [{ member: 'n1', app: 'web' }]);
    assert.deepEqual(growth.unchangedApps, [{ member: 'n1', app: 'idle' }]);
    const n1 = growth.topology.nodes[0]!;
    assert.ok(n1.type === 'netns');
    assert.deepEqual(
      n1.apps.map((app) => app.command),
      [
        ['sleep', 'infinity'],
        ['python3', '-m', 'http.server'],
      ],
      'the stored topology says what runs',
    );
    assert.deepEqual(growth.work.members, []);
  });

  it('adds VMs with taps numbered after every link in use, and impaired links to the relay in relay mode', () => {
    const dc = running(topologyOf(NET('a') + NODE('n1', '[a]') + VM('vm1', '[a]')), 'relay');
    const growth = grown(
      dc,
      topologyOf(
        NET('a') + NODE('n1', '[a]') + NODE('n2', '[{network: a, netem: {delay: 5ms}}]') + VM('vm1', '[a]') + VM('vm2', '[a, a]'),
      ),
    );
    assert.deepEqual(growth.vms, ['vm2']);
    assert.deepEqual(growth.members, ['n2']);
    assert.deepEqual(growth.plan.taps.get('vm1'), ['yg-t1']);
    assert.deepEqual(growth.plan.taps.get('vm2'), ['yg-t3', 'yg-t4']);
    assert.deepEqual(growth.links.find((link) => link.member === 'n2')?.hostSide, 'yg-v2');
    assert.deepEqual(
      growth.work.relayed.map((link) => link.link),
      ['yg-v2'],
    );
    assert.ok(growth.work.dcIpCommands.includes('tuntap add dev yg-t3 mode tap'));
    assert.ok(!growth.work.dcIpCommands.some((line) => line.includes('yg-t1') || line.includes('yg-v0')));
  });

  it('planBuild without a previous plan names links in order, as before', () => {
    const plan = planBuild('lab', fixture('grown.yml'));
    assert.deepEqual(
      plan.links.map((link) => link.hostSide),
      ['yg-v0', 'yg-v1', 'yg-v2', 'yg-v3'],
    );
    assert.deepEqual(
      plan.links.map((link) => `${link.member}/${link.interfaceName}`),
      ['r1/eth0', 'r1/eth1', 'r2/eth0', 'n3/eth0'],
    );
  });
});

describe('vdc growth: a generated site gains a rack', () => {
  const SPEC = 'test/fixtures/fabric/2racks-netns.yml';
  const spec = readFileSync(SPEC, 'utf8');
  const topologyOfSite = (text: string): Topology => {
    const site = generateSite(parseSiteSpec({ path: SPEC, text }));
    return topologyOf(site.files.find((file) => file.path === 'dc.yml')!.content);
  };

  it('2 racks → 3: the new rack is added, every existing network and link is unchanged, spines gain links', () => {
    // The site spec has no `etcd-members` field: every netns boot server is an etcd member, so
    // boot-0 and boot-1's etcd and yagura commands list boot-2 in the 3-rack site, and every
    // ToR's DHCP relay gains boot-2. Those running apps are kept as they run (unchangedApps).
    const two = running(topologyOfSite(spec));
    const growth = grown(two, topologyOfSite(spec.replace(/^racks: 2$/m, 'racks: 3')));
    assert.deepEqual(growth.networks, ['r2-node1', 'r2-node2', 's1-r2-t1', 's1-r2-t2', 's2-r2-t1', 's2-r2-t2']);
    assert.deepEqual(growth.members, ['rack2-tor1', 'rack2-tor2', 'boot-2', 'rack2-cs1', 'rack2-cs2']);
    assert.deepEqual(
      growth.links
        .filter((link) => link.member.startsWith('spine'))
        .map((link) => `${link.member}/${link.interfaceName}@${link.network}`),
      ['spine1/eth4@s1-r2-t1', 'spine1/eth5@s1-r2-t2', 'spine2/eth4@s2-r2-t1', 'spine2/eth5@s2-r2-t2'],
    );
    for (const link of two.plan.links) {
      const now = growth.plan.links.find((end) => end.member === link.member && end.interfaceName === link.interfaceName);
      assert.deepEqual(now, link, `${link.member}/${link.interfaceName} unchanged`);
    }
    assert.deepEqual(
      growth.unchangedApps.map(({ member, app }) => `${member}/${app}`),
      [
        'rack0-tor1/dhcp-relay',
        'rack0-tor2/dhcp-relay',
        'rack1-tor1/dhcp-relay',
        'rack1-tor2/dhcp-relay',
        'boot-0/etcd',
        'boot-0/yagura',
        'boot-1/etcd',
        'boot-1/yagura',
      ],
    );
    assert.deepEqual(growth.vms, []);
    assert.equal(grown(running(growth.topology), topologyOfSite(spec.replace(/^racks: 2$/m, 'racks: 3'))).nothingToDo, true);
  });
});
