import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { generateSite, parseSiteSpec, planSite, type SitePlan } from '../../src/fabric/index.js';
import { machinesFile } from '../../src/fabric/plan.js';
import { ipamConfig, machineSpecInput } from '../../src/inventory/model.js';

function site(path: string): SitePlan {
  return planSite(parseSiteSpec({ path, text: readFileSync(path, 'utf8') }));
}

const dctest = site('test/fixtures/fabric/4racks.yml');
const machine = (name: string) => dctest.machines.find((m) => m.name === name)!;

describe('fabric: the address plan', () => {
  it("gives Neco's dctest addresses: boot-0, rack1's first cs, a BMC", () => {
    const boot0 = machine('boot-0');
    assert.deepEqual([boot0.node0, boot0.node1, boot0.node2, boot0.index], ['10.69.0.3', '10.69.0.67', '10.69.0.131', 3]);
    const cs = machine('rack1-cs1');
    assert.deepEqual([cs.node0, cs.node1, cs.node2, cs.index], ['10.69.0.196', '10.69.1.4', '10.69.1.68', 4]);
    assert.equal(machine('rack1-cs2').index, 5);
    assert.equal(machine('rack1-cs2').bmc, '10.72.17.37');
  });

  it("lays out dctest's racks: rack0 2 cs + 1 ss, rack1 2 cs, rack2/3 1 cs, a boot server each", () => {
    assert.deepEqual(
      dctest.racks.map((rack) => rack.machines.map((m) => m.name)),
      [
        ['boot-0', 'rack0-cs1', 'rack0-cs2', 'rack0-ss1'],
        ['boot-1', 'rack1-cs1', 'rack1-cs2'],
        ['boot-2', 'rack2-cs1'],
        ['boot-3', 'rack3-cs1'],
      ],
    );
  });

  it('puts each ToR at its /26 block start + 1', () => {
    const [tor1, tor2] = dctest.racks[1]!.tors;
    assert.deepEqual(
      [tor1.address, tor1.prefix, tor2.address, tor2.prefix],
      ['10.69.1.1', '10.69.1.0/26', '10.69.1.65', '10.69.1.64/26'],
    );
    assert.deepEqual(
      dctest.racks[0]!.tors.map((tor) => tor.address),
      ['10.69.0.65', '10.69.0.129'],
    );
  });

  it('numbers the ASes as Neco: rack N is 64600 + N, the spines share 64599', () => {
    assert.deepEqual(
      dctest.racks.map((rack) => rack.asn),
      [64600, 64601, 64602, 64603],
    );
    assert.deepEqual(
      dctest.spines.map((spine) => spine.asn),
      [64599, 64599],
    );
    assert.deepEqual(
      dctest.racks[2]!.tors.map((tor) => tor.asn),
      [64602, 64602],
    );
  });

  it('cuts a /31 per ToR–spine link, 4 per rack with 2 spines, the spine on the even address', () => {
    const links = dctest.spines.flatMap((spine) => spine.links);
    assert.equal(links.length, 4 * 4);
    assert.equal(new Set(links.flatMap((link) => [link.spineAddress, link.torAddress])).size, 32);
    const tor = dctest.racks[0]!.tors[0];
    assert.deepEqual(
      tor.uplinks.map((link) => [link.spine, link.spineAddress, link.torAddress]),
      [
        ['spine1', '10.0.1.0', '10.0.1.1'],
        ['spine2', '10.0.1.2', '10.0.1.3'],
      ],
    );
  });

  it('writes an IPAM config and a machines file the inventory accepts, in registration order', () => {
    const files = generateSite(
      parseSiteSpec({ path: 'x.yml', text: readFileSync('test/fixtures/fabric/4racks.yml', 'utf8') }),
    ).files;
    const ipam = JSON.parse(files.find((file) => file.path === 'ipam.json')!.content);
    assert.ok(ipamConfig.safeParse(ipam).success);
    assert.equal(ipam['node-ipv4-pool'], '10.69.0.0/20');
    const machines = JSON.parse(files.find((file) => file.path === 'machines.json')!.content) as unknown[];
    assert.equal(machines.length, 11);
    for (const entry of machines) assert.ok(machineSpecInput.safeParse(entry).success);
    assert.deepEqual(machinesFile(dctest)[0], {
      serial: machine('boot-0').serial,
      rack: 0,
      role: 'boot',
      bmc: { type: 'IPMI-2.0' },
      labels: { 'bgp-as': '64600', hostname: 'boot-0' },
    });
  });

  it('takes a /16 node pool by default when a /20 cannot hold the racks', () => {
    const wide = planSite(parseSiteSpec({ path: 'wide.yml', text: 'racks: 30\nservers: [{role: cs, count: 1}]\n' }));
    assert.equal(wide.ipam['node-ipv4-pool'], '10.69.0.0/16');
    assert.equal(wide.racks[29]!.asn, 64629);
  });

  it('follows a custom address plan and ASN base', () => {
    const custom = planSite(
      parseSiteSpec({
        path: 'custom.yml',
        text: 'racks: 2\nboot-server: false\nasn-base: 65100\nservers: [{role: w, count: 1, kind: netns}]\nipam: {node-ipv4-pool: 172.16.0.0/16}\n',
      }),
    );
    assert.deepEqual(
      custom.machines.map((m) => [m.name, m.node0, m.index]),
      [
        ['rack0-w1', '172.16.0.4', 4],
        ['rack1-w1', '172.16.0.196', 4],
      ],
    );
    assert.equal(custom.spineAsn, 65099);
  });
});
