import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { belongsToDc, dcNameFromFile, dcNameProblem, dcOfNamespace, memberNamespace } from '../../src/vdc/names.js';
import { describeNetem, netemArguments } from '../../src/vdc/netem.js';
import { netemChange, netemTarget, planBuild } from '../../src/vdc/plan.js';
import { parseTopology } from '../../src/vdc/spec/index.js';
import { expandCommand } from '../../src/vdc/supervisor/apps.js';

const BGP = 'test/fixtures/vdc/bgp/dc.yml';
const topology = parseTopology([{ path: BGP, text: readFileSync(BGP, 'utf8') }]);

describe('vdc plan: spec → host actions', () => {
  const plan = planBuild('lab', topology);

  it('puts every bridge and DC-side link end in the DC namespace and every member in its own', () => {
    assert.deepEqual(plan.namespaces, ['yg-lab', 'yg-lab.router1', 'yg-lab.router2', 'yg-lab.server1', 'yg-lab.server2']);
    assert.deepEqual(plan.dcIpCommands.slice(0, 4), [
      'link set dev lo up',
      'link add name r1-r2 type bridge stp_state 0 forward_delay 0',
      'link set dev r1-r2 up',
      'link add name rack1 type bridge stp_state 0 forward_delay 0',
    ]);
    assert.ok(plan.dcIpCommands.includes('link add name yg-v0 type veth peer name eth0 netns yg-lab.router1'));
    assert.ok(plan.dcIpCommands.includes('link set dev yg-v0 master r1-r2 up'));
    // Nothing names the host's namespace: every command runs under `ip -n yg-lab` or a member's.
    assert.ok(plan.dcIpCommands.every((line) => !/netns (?!yg-lab\.)/.test(line)));
  });

  it('gives routers forwarding and rp_filter 0, servers their addresses only', () => {
    const router = plan.members.find((m) => m.member === 'router1')!;
    assert.equal(router.kind, 'router');
    assert.deepEqual(router.ipCommands, [
      'link set dev lo up',
      'addr add 10.0.0.0/31 dev eth0',
      'link set dev eth0 up',
      'addr add 10.1.0.1/24 dev eth1',
      'link set dev eth1 up',
    ]);
    assert.ok(router.sysctls.some(([key, value]) => key === 'net.ipv4.ip_forward' && value === '1'));
    const server = plan.members.find((m) => m.member === 'server1')!;
    assert.equal(server.kind, 'node');
    assert.deepEqual(server.sysctls, []);
  });

  it('impairs with tc netem inside the member, or hands the link to the relay without a bridge', () => {
    const server2 = plan.members.find((m) => m.member === 'server2')!;
    assert.deepEqual(server2.tcCommands, ['qdisc replace dev eth0 root netem delay 20000us']);
    assert.deepEqual(plan.relayed, []);
    const relayPlan = planBuild('lab', topology, { impairments: 'relay' });
    const relayed = relayPlan.relayed;
    assert.equal(relayed.length, 1);
    assert.deepEqual(
      { ...relayed[0], netem: undefined },
      { member: 'server2', interfaceName: 'eth0', link: 'yg-v5', bridge: 'rack2', netem: undefined },
    );
    assert.ok(relayPlan.dcIpCommands.includes('link set dev yg-v5 up'));
    assert.ok(!relayPlan.dcIpCommands.includes('link set dev yg-v5 master rack2 up'));
    assert.deepEqual(relayPlan.members.find((m) => m.member === 'server2')!.tcCommands, []);
  });

  it('finds where a runtime impairment goes', () => {
    assert.deepEqual(netemTarget(plan, 'server1', 'eth0'), {
      namespace: 'yg-lab.server1',
      device: 'eth0',
      link: 'yg-v4',
      bridge: 'rack1',
    });
    assert.equal(netemTarget(plan, 'server1', 'eth7'), undefined);
    assert.equal(netemChange('eth0', 'clear'), 'qdisc del dev eth0 root');
  });

  it('names every device explicitly, so network names like "n" or "dev" cannot read as ip keywords', () => {
    const odd = parseTopology([
      {
        path: 'odd.yml',
        text: 'kind: Network\nname: n\n---\nkind: Network\nname: dev\n---\nkind: Node\ntype: netns\nname: a\ninterfaces: [n, dev]\n',
      },
    ]);
    const lines = planBuild('lab', odd).dcIpCommands;
    assert.ok(lines.includes('link add name n type bridge stp_state 0 forward_delay 0'));
    assert.ok(lines.includes('link set dev n up'));
    assert.ok(lines.includes('link set dev yg-v1 master dev up'));
    assert.ok(
      lines.every((line) => /^(link (add name|set dev) |addr add |tuntap add dev |route add )/.test(line)),
      lines.join('\n'),
    );
  });

  it('builds a VM NIC as a tap in the bridge', () => {
    const vm = parseTopology([
      {
        path: 'vm.yml',
        text: 'kind: Network\nname: net0\n---\nkind: Node\nname: vm1\ncpu: 1\ninterfaces:\n  - network: net0\n    netem: { loss: 1% }\n',
      },
    ]);
    const vmPlan = planBuild('lab', vm);
    assert.deepEqual(vmPlan.taps.get('vm1'), ['yg-t0']);
    assert.ok(vmPlan.dcIpCommands.includes('tuntap add dev yg-t0 mode tap'));
    assert.deepEqual(vmPlan.dcTcCommands, ['qdisc replace dev yg-t0 root netem loss 1%']);
    assert.deepEqual(netemTarget(vmPlan, 'vm1', 'eth0')?.device, 'yg-t0');
  });
});

describe('vdc plan: the NAT uplink of external networks', () => {
  const nat = parseTopology([
    {
      path: 'nat.yml',
      text: 'kind: Network\nname: internet\ntype: external\nuse-nat: true\naddress: 10.0.0.1/24\n---\nkind: Network\nname: ext2\ntype: external\naddress: 10.9.0.1/24\n',
    },
  ]);

  it('is planned only for external networks with use-nat, and masquerades only them', () => {
    assert.equal(planBuild('lab', topology).uplink, undefined);
    const uplink = planBuild('lab', nat).uplink!;
    assert.match(uplink.uplinkSide, /^yg-u[0-9a-f]{8}$/);
    assert.equal(uplink.namespace, undefined);
    assert.deepEqual(uplink.natNetworks, ['10.0.0.0/24']);
    assert.match(uplink.dcNft, /oifname "yg-uplink" ip saddr \{ 10\.0\.0\.0\/24 \} masquerade/);
    assert.match(uplink.uplinkIpCommands[0]!, /^link add name yg-u[0-9a-f]{8} type veth peer name yg-uplink netns yg-lab$/);
    assert.ok(uplink.dcIpCommands.includes(`route add default via ${uplink.uplinkAddress}`));
  });

  it('gives each DC its own /30 in 100.127.0.0/16 and its own uplink names', () => {
    const a = planBuild('lab-a', nat).uplink!;
    const b = planBuild('lab-b', nat, { uplinkNamespace: 'yt-host' }).uplink!;
    assert.equal(b.namespace, 'yt-host');
    assert.notEqual(a.subnet, b.subnet);
    assert.notEqual(a.uplinkSide, b.uplinkSide);
    assert.notEqual(a.uplinkTable, b.uplinkTable);
    for (const uplink of [a, b]) {
      assert.match(uplink.subnet, /^100\.127\.\d+\.\d+\/30$/);
      assert.ok(uplink.uplinkSide.length <= 15);
    }
  });
});

describe('vdc names, netem words and app commands', () => {
  it('derives and checks DC names', () => {
    assert.equal(dcNameFromFile('clusters/Rack 0.yml'), 'rack-0');
    assert.equal(dcNameFromFile('/x/___.yaml'), 'dc');
    assert.equal(dcNameProblem('lab-1'), undefined);
    assert.match(dcNameProblem('Lab.1')!, /not a valid data center name/);
    assert.ok(belongsToDc('lab', memberNamespace('lab', 'a.b')));
    assert.ok(!belongsToDc('lab', 'yg-lab2.a'));
    assert.equal(dcOfNamespace('yg-lab.router1'), 'lab');
    assert.equal(dcOfNamespace('other'), undefined);
  });

  it('writes netem arguments and describes them for people', () => {
    const netem = { delayUs: 5000, jitterUs: 1000, lossPercent: 0.1, rateBitsPerSecond: 100_000_000 };
    assert.deepEqual(netemArguments(netem), ['netem', 'delay', '5000us', '1000us', 'loss', '0.1%', 'rate', '100000000bit']);
    assert.equal(describeNetem(netem), 'delay 5ms ±1ms, loss 0.1%, rate 100mbit');
    assert.equal(netemArguments({}), undefined);
  });

  it('expands ${RUN_DIR}, ${DC} and ${NAME} in app commands, ${YAGURA} into the CLI words, nothing else', () => {
    const vars = { RUN_DIR: '/run/x', DC: 'lab', NAME: 'r1', YAGURA: ['/usr/bin/node', '/opt/yagura/dist/cli/main.js'] };
    assert.deepEqual(expandCommand(['bird', '-s', '${RUN_DIR}/bird-${NAME}.ctl', '${HOME}', '${DC}'], vars), [
      'bird',
      '-s',
      '/run/x/bird-r1.ctl',
      '${HOME}',
      'lab',
    ]);
    assert.deepEqual(expandCommand(['${YAGURA}', 'serve', '--data-dir=${RUN_DIR}/yagura-${NAME}'], vars), [
      '/usr/bin/node',
      '/opt/yagura/dist/cli/main.js',
      'serve',
      '--data-dir=/run/x/yagura-r1',
    ]);
    // Only a word of its own stands for the program (the topology check refuses it elsewhere).
    assert.deepEqual(expandCommand(['x${YAGURA}'], vars), ['x${YAGURA}']);
  });
});
