/**
 * dctest's pure parts: reading BIRD, ip and ping output; what it expects of a
 * site (who netboots, who probes whom, which routes need two paths); whether
 * the leases, the inventory and the DC agree; the spec grown by one rack; the
 * report's verdict.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { checkAgreement, type DcView } from '../../src/dctest/agreement.js';
import { oneMoreRack } from '../../src/dctest/add-rack.js';
import { planDctest, reachabilityPairs, spineNexthops } from '../../src/dctest/plan.js';
import { bgpProtocols, parsePing, parseRoute, parseRoutes, txPackets } from '../../src/dctest/readings.js';
import { checkRows, passed, type DctestReport } from '../../src/dctest/report.js';
import type { LeaseListEntry } from '../../src/boot/dhcp/lease-view.js';
import { generateSite, parseSiteSpec, type SitePlan } from '../../src/fabric/index.js';
import type { Machine } from '../../src/inventory/model.js';

const SITE_FILE = 'sites/dctest.yml';
const site = generateSite(parseSiteSpec({ path: SITE_FILE, text: readFileSync(SITE_FILE, 'utf8') })).plan;
const named = (plan: SitePlan, name: string) => plan.machines.find((machine) => machine.name === name)!;

describe('dctest: reading the DC', () => {
  it("reads BIRD's protocol table: the BGP sessions and their states, whatever the time format", () => {
    const output = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     22:08:37.283
bfd1       BFD        ---        up     22:08:37.283
spine1     BGP        ---        up     22:08:41.528  Established
rack1_cs1  BGP        ---        start  2026-12-05 22:08:37  Passive
rack1_cs2  BGP        ---        start  22:08:37.283  Connect       Socket: Connection refused
boot_1     BGP        ---        down   22:08:37.283
`;
    assert.deepEqual(bgpProtocols(output), [
      { name: 'spine1', state: 'up', bgp: 'Established' },
      { name: 'rack1_cs1', state: 'start', bgp: 'Passive' },
      { name: 'rack1_cs2', state: 'start', bgp: 'Connect' },
      { name: 'boot_1', state: 'down', bgp: 'Down' },
    ]);
  });

  it('reads a route: one next hop, two (ECMP), or none', () => {
    assert.deepEqual(
      parseRoute(
        '10.69.0.196 proto bird src 10.69.0.4 metric 32 \n\tnexthop via 10.69.0.65 dev eth0 weight 1 \n\tnexthop via 10.69.0.129 dev eth1 weight 1 \n',
      ),
      {
        nexthops: [
          { via: '10.69.0.65', dev: 'eth0' },
          { via: '10.69.0.129', dev: 'eth1' },
        ],
        src: '10.69.0.4',
      },
    );
    assert.deepEqual(parseRoute('10.69.0.4 via 10.69.0.68 dev eth0 proto bird metric 32\n'), {
      nexthops: [{ via: '10.69.0.68', dev: 'eth0' }],
    });
    assert.equal(parseRoute('\n'), undefined);
    const table = parseRoutes(
      '10.69.0.3 via 10.69.0.67 dev eth0 proto bird metric 32 \n10.69.0.196 proto bird metric 32 \n\tnexthop via 10.0.1.0 dev eth1 weight 1 \n\tnexthop via 10.0.1.2 dev eth2 weight 1 \n10.69.0.0/26 via 10.0.1.0 dev eth1 proto bird\n',
    );
    assert.deepEqual([...table.keys()], ['10.69.0.3', '10.69.0.196', '10.69.0.0/26']);
    assert.equal(table.get('10.69.0.196')!.nexthops.length, 2);
  });

  it('counts the pings lost and the longest outage at the interval', () => {
    const answered = [1, 2, 3, 7, 8, 9, 11].map((seq) => `64 bytes from 10.69.0.196: icmp_seq=${seq} ttl=62 time=0.5 ms`);
    const output = `PING 10.69.0.196 (10.69.0.196) 56(84) bytes of data.\n${answered.join('\n')}\n\n--- 10.69.0.196 ping statistics ---\n12 packets transmitted, 7 received, 41.6667% packet loss, time 1100ms\n`;
    assert.deepEqual(parsePing(output, 100), { sent: 12, received: 7, longestOutageMs: 300 });
    assert.deepEqual(parsePing('ping: connect: Network is unreachable\n', 100), { sent: 0, received: 0, longestOutageMs: 0 });
  });

  it("reads an interface's transmitted packets from ip -s link", () => {
    const output = `3: eth0@if12: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000
    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff link-netns yg-t
    RX:  bytes packets errors dropped  missed   mcast
         90210     812      0       0       0       0
    TX:  bytes packets errors dropped carrier collsns
         70123     655      0       0       0       0
`;
    assert.equal(txPackets(output), 655);
    assert.throws(() => txPackets('Device "eth9" does not exist.'), /no TX counters/);
  });
});

describe('dctest: what it expects of a site', () => {
  const plan = planDctest(site);

  it('netboots the VM servers, joins the netns ones, reads BGP on every BIRD in a namespace', () => {
    assert.deepEqual(
      plan.netboot.map((machine) => `${machine.name} ${machine.firmware}`),
      ['rack0-ss1 uefi', 'rack1-ss1 bios'],
    );
    assert.deepEqual(
      plan.joiners.map((machine) => machine.name),
      ['rack0-cs1', 'rack1-cs1'],
    );
    assert.deepEqual(plan.bgpMembers, [
      'spine1',
      'spine2',
      'rack0-tor1',
      'rack0-tor2',
      'rack1-tor1',
      'rack1-tor2',
      'boot-0',
      'rack0-cs1',
      'boot-1',
      'rack1-cs1',
    ]);
    assert.equal(plan.silentSessions.size, 0);
  });

  it('probes from a netns server in each rack to every node0 in the others, and fails a ToR over between two racks', () => {
    assert.deepEqual(
      plan.probers.map((machine) => machine.name),
      ['rack0-cs1', 'rack1-cs1'],
    );
    assert.deepEqual(
      reachabilityPairs(plan).map(({ from, to }) => `${from.name}>${to.name}`),
      [
        'rack0-cs1>boot-1',
        'rack0-cs1>rack1-cs1',
        'rack0-cs1>rack1-ss1',
        'rack1-cs1>boot-0',
        'rack1-cs1>rack0-cs1',
        'rack1-cs1>rack0-ss1',
      ],
    );
    assert.deepEqual({ from: plan.failover?.from.name, to: plan.failover?.to.name }, { from: 'rack0-cs1', to: 'rack1-cs1' });
  });

  it('reaches within the rack when the site has only one, and tries no failover there', () => {
    const one = planDctest(
      generateSite(parseSiteSpec({ path: 'one.yml', text: 'racks: 1\nservers: [{ role: cs, count: 2, kind: netns }]\n' })).plan,
    );
    assert.deepEqual(
      reachabilityPairs(one).map(({ from, to }) => `${from.name}>${to.name}`),
      ['rack0-cs1>boot-0', 'rack0-cs1>rack0-cs2'],
    );
    assert.equal(one.failover, undefined);
  });

  it("expects a spine to reach a rack's servers over the ToR ends of its two links to that rack", () => {
    assert.deepEqual(spineNexthops(site, 'spine1', 1), ['10.0.1.9', '10.0.1.13']);
    assert.deepEqual(spineNexthops(site, 'spine2', 0), ['10.0.1.3', '10.0.1.7']);
  });

  it('leaves VM boot servers out: nothing to reach, their sessions never come up; racks without netns machines have no prober', () => {
    const mixed = generateSite(
      parseSiteSpec({
        path: 'mixed.yml',
        text: 'racks: 3\nservers: [{ role: cs, count: 1, kind: vm }]\noverrides:\n  - { rack: 1, boot-server: { kind: vm } }\n',
      }),
    ).plan;
    const expected = planDctest(mixed);
    assert.deepEqual([...expected.silentSessions], ['boot_1']);
    assert.ok(!expected.targets.some((machine) => machine.name === 'boot-1'));
    assert.deepEqual(
      expected.probers.map((machine) => machine.name),
      ['boot-0', 'boot-2'],
    );
    assert.equal(expected.failover, undefined, 'no netns server to fail over to');
  });
});

describe('dctest: the leases, the inventory and the DC agree', () => {
  const booted = [named(site, 'rack0-cs1'), named(site, 'rack1-ss1')];
  const inventory: Machine[] = site.machines.map((machine) => ({
    spec: {
      serial: machine.serial,
      rack: machine.rack,
      'index-in-rack': machine.index,
      role: machine.role,
      ipv4: [machine.node0, machine.node1, machine.node2],
    },
  })) as unknown as Machine[];
  const macs = new Map([
    ['rack0-cs1', ['52:54:00:00:00:01', '52:54:00:00:00:02']],
    ['rack1-ss1', ['52:54:00:00:01:01', '52:54:00:00:01:02']],
  ]);
  const leases: LeaseListEntry[] = [
    { address: '10.69.0.96', mac: '52:54:00:00:00:01', state: 'bound', expires: '2026-12-05T10:00:00.000Z' },
    { address: '10.69.1.32', mac: '52:54:00:00:01:01', state: 'bound', expires: '2026-12-05T10:00:00.000Z' },
  ];
  const routes = (): DcView['torRoutes'] =>
    new Map(
      site.racks.flatMap((rack) =>
        rack.tors.map((tor) => [
          tor.name,
          new Map(
            booted
              .filter((machine) => machine.rack === rack.rack)
              .map((machine) => [
                machine.node0,
                { nexthops: [{ via: tor.side === 1 ? machine.node1 : machine.node2, dev: 'eth0' }] },
              ]),
          ),
        ]),
      ),
    );

  it('agrees when each view says the same', () => {
    const outcome = checkAgreement(site, booted, inventory, leases, { macs, torRoutes: routes() });
    assert.deepEqual(outcome.problems, []);
    assert.equal(outcome.summary, '6 machines, 2 leases, 4 ToR routes');
  });

  it('names each disagreement', () => {
    const moved = inventory.map((machine) =>
      machine.spec.serial === named(site, 'rack0-cs1').serial
        ? { ...machine, spec: { ...machine.spec, 'index-in-rack': 9 } }
        : machine,
    );
    const torRoutes = routes();
    torRoutes.get('rack1-tor2')!.set(named(site, 'rack1-ss1').node0, { nexthops: [{ via: '10.69.1.99', dev: 'eth0' }] });
    torRoutes.get('rack0-tor1')!.clear();
    const outcome = checkAgreement(
      site,
      booted,
      [...moved.slice(1), { spec: { serial: 'STRAY', rack: 0, 'index-in-rack': 30, ipv4: [] } } as unknown as Machine],
      [
        { address: '10.69.0.10', mac: '52:54:00:00:00:01', state: 'bound', expires: '2026-12-05T10:00:00.000Z' },
        { address: '10.69.1.33', mac: 'aa:bb:cc:dd:ee:ff', state: 'bound', expires: '2026-12-05T10:00:00.000Z' },
        { key: 'dhcp/leases/x', state: 'corrupt', error: 'not JSON' },
      ],
      { macs, torRoutes },
    );
    assert.deepEqual(outcome.problems, [
      `boot-0 (${named(site, 'boot-0').serial}) is not in the inventory`,
      'rack0-cs1: the inventory has rack 0 index 9 10.69.0.4, the site plan rack 0 index 4 10.69.0.4',
      'the inventory has STRAY, which is not in the site',
      "lease 10.69.0.10 is outside its rack's lease range 10.69.0.32–10.69.0.62",
      "lease 10.69.1.33 is held by aa:bb:cc:dd:ee:ff, no NIC of the DC's servers",
      'a corrupt lease key in the store: dhcp/leases/x (not JSON)',
      'rack1-ss1 booted but none of its NICs has a lease',
      "rack0-tor1 has no route to rack0-cs1's node0 10.69.0.4",
      `rack1-tor2 routes rack1-ss1's node0 ${named(site, 'rack1-ss1').node0} via 10.69.1.99, not its uplink ${named(site, 'rack1-ss1').node2}`,
    ]);
  });
});

describe('dctest: growing the spec, the verdict', () => {
  it('adds one rack to the spec and pins the etcd core, keeping the rest of the file', () => {
    const text = readFileSync(SITE_FILE, 'utf8');
    const grown = parseSiteSpec({ path: SITE_FILE, text: oneMoreRack(text, 2, 2) });
    assert.equal(grown.racks.length, 3);
    assert.equal(grown.etcdMembers, 2);
    assert.deepEqual(grown.racks[2]!.servers, grown.racks[0]!.servers, 'the new rack is like the default racks');
    assert.match(oneMoreRack(text, 2, 2), /^# The data center/, 'comments stay');
  });

  it('passes only when every phase ran and every check passed; lists the checks that did not run', () => {
    const report: DctestReport = {
      site: SITE_FILE,
      dc: 'dctest',
      racks: 2,
      spines: 2,
      servers: 6,
      vms: 2,
      phases: [{ name: 'DC up', ms: 1800, ok: true, detail: '' }],
      checks: [{ name: 'reachability', ms: 300, ok: true, detail: '6 pairs' }],
      passed: false,
      totalMs: 0,
    };
    assert.equal(passed(report), true);
    assert.equal(passed({ ...report, checks: [] }), false, 'no check is no pass');
    assert.equal(passed({ ...report, error: 'BGP: timed out' }), false);
    assert.equal(passed({ ...report, checks: [...report.checks, { name: 'ECMP', ms: 1, ok: false, detail: '' }] }), false);
    const notApplicable = { name: 'ToR failover', ms: 0, ok: false, notApplicable: true as const, detail: 'needs two racks' };
    assert.equal(
      passed({ ...report, checks: [...report.checks, notApplicable] }),
      true,
      'a check the site cannot show does not fail it',
    );
    assert.equal(passed({ ...report, checks: [notApplicable] }), false, 'but it does not pass it either');
    assert.deepEqual(checkRows({ ...report, checks: [notApplicable] })[0]!.slice(2, 3), ['n/a']);
    assert.deepEqual(
      checkRows(report, ['add rack']).map((row) => `${row[0]} ${row[2]}`),
      ['reachability pass', 'ECMP not run', 'agreement not run', 'ToR failover not run', 'add rack skipped'],
    );
  });
});
