/**
 * A netns server joins a rack with `yagura node join`, for real: the test
 * builds rack 0 of a one-rack site out of three namespaces it creates — the
 * ToR (one BIRD playing both ToRs, dnsmasq relaying DHCP from the node1
 * segment, as the generated ToRs do), the boot server (`yagura serve` on its
 * node0, 10.69.0.3, loaded from the generated ipam.json and machines.json)
 * and the server (two veths, eth0 on the ToR1 segment, eth1 on the ToR2
 * one). node join is started before the boot server runs and before the
 * role has a template, so it has to wait for both; then the template
 * `yagura dc generate` wrote is uploaded with `yagura ignitions set`. The
 * node must get a lease through the relay, write its three files, replace
 * the lease with node0/32 on lo and its uplink addresses, bring both iBGP
 * sessions up (the ToR learns node0/32 over both uplinks) and stop BIRD on
 * SIGTERM. Everything is removed afterwards, also when a step fails.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DhcpLeaseRepository } from '../../src/boot/dhcp/leases.js';
import { generateSite, ignitionTemplatePath, parseSiteSpec, serverConfig } from '../../src/fabric/index.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { leaseRange } from '../../src/inventory/ipam.js';
import { ipamConfig, machineSpecInput } from '../../src/inventory/model.js';
import { parseIPv4 } from '../../src/lib/ipv4.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { eventually } from '../helpers/boot-server.js';
import { YAGURA } from '../helpers/cli.js';
import { IP, NetNs, type ProcessInNamespace } from '../helpers/netns.js';
import { BIRD, BIRDC } from '../helpers/node-os.js';
import { tempDir } from '../helpers/temp.js';

const actor = { user: 'test', ip: '127.0.0.1' };
const SITE = `name: nodejoin
racks: 1
servers:
  - { role: cs, count: 1, kind: netns }
`;
const site = generateSite(parseSiteSpec({ path: 'nodejoin.yml', text: SITE }));
const generated = (path: string): string => site.files.find((file) => file.path === path)!.content;
const RACK = site.plan.racks[0]!;
const BOOT = site.plan.machines.find((machine) => machine.boot)!;
const NODE = site.plan.machines.find((machine) => machine.name === 'rack0-cs1')!;
// The dctest IPAM's rack 0: the boot server is 10.69.0.3; the node node0 10.69.0.4, node1 10.69.0.68, node2 10.69.0.132.
const TOR1 = RACK.tors[0].address;
const TOR2 = RACK.tors[1].address;
const BOOT0 = BOOT.node0;
const SERVER = `http://${BOOT0}:10080`;
/** The ToR–boot-server link (the spines' place in a real site). */
const LINK_TOR = '10.0.9.0';
const LINK_BOOT = '10.0.9.1';

/** One BIRD standing in for both ToRs of rack 0, as in node-os.test.ts. */
function torConfig(dir: string): string {
  return [
    `log "${dir}/tor.log" all;`,
    `router id ${TOR1};`,
    'protocol device { scan time 5; }',
    'protocol bfd { interface "br*" { min rx interval 400 ms; min tx interval 400 ms; }; }',
    'template bgp node {',
    `  local as ${RACK.asn};`,
    '  direct;',
    '  bfd on;',
    '  rr client;',
    '  connect retry time 2;',
    '  ipv4 { import all; export none; };',
    '}',
    `protocol bgp node_tor1 from node { local ${TOR1} as ${RACK.asn}; neighbor ${NODE.node1} as ${RACK.asn}; }`,
    `protocol bgp node_tor2 from node { local ${TOR2} as ${RACK.asn}; neighbor ${NODE.node2} as ${RACK.asn}; }`,
    '',
  ].join('\n');
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('yagura node join', () => {
  it(
    'a netns server: DHCP through the relay → its Ignition config by serial → node0 + uplinks → BIRD Established with both ToRs',
    { timeout: 180_000 },
    async (t) => {
      const started = Date.now();
      const dir = tempDir('node-join');
      const dataDir = join(dir.path, 'data');
      const root = join(dir.path, 'nodes', NODE.name);
      const birdSocket = join(dir.path, `bird-${NODE.name}.ctl`);
      const spaces: NetNs[] = [];
      let yagura: ProcessInNamespace | undefined;
      let node: ProcessInNamespace | undefined;
      const timing = (what: string) => t.diagnostic(`${what}: ${Date.now() - started} ms`);
      try {
        // The boot server's state: IPAM and machines as generated; no template yet.
        const store = await openEmbeddedStore({ dataDir });
        const inventory = new Inventory(store);
        await inventory.config.setIpam(ipamConfig.parse(JSON.parse(generated('ipam.json'))), actor);
        const machines = (JSON.parse(generated('machines.json')) as unknown[]).map((entry) => machineSpecInput.parse(entry));
        await inventory.machines.register(machines, actor);
        await store.close();

        const tor = NetNs.create();
        spaces.push(tor);
        const boot = NetNs.create();
        spaces.push(boot);
        const server = NetNs.create();
        spaces.push(server);
        tor.addBridge('br1', `${TOR1}/${RACK.tors[0].prefixLength}`);
        tor.addBridge('br2', `${TOR2}/${RACK.tors[1].prefixLength}`);
        tor.batch([
          // The server's two NICs, one on each segment; the boot server behind a routed link.
          `link add n1 type veth peer name eth0 netns ${server.name}`,
          `link add n2 type veth peer name eth1 netns ${server.name}`,
          `link add boot type veth peer name eth0 netns ${boot.name}`,
          'link set n1 master br1',
          'link set n2 master br2',
          'link set n1 up',
          'link set n2 up',
          `address add ${LINK_TOR}/31 dev boot`,
          'link set boot up',
          `route add ${BOOT0}/32 via ${LINK_BOOT}`,
        ]);
        await tor.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
        boot.batch([
          `address add ${BOOT0}/32 dev lo`,
          `address add ${LINK_BOOT}/31 dev eth0`,
          'link set eth0 up',
          // Replies to relayed DHCP (to the ToR's address) leave from node0, which becomes the DHCP server identifier.
          `route add default via ${LINK_TOR} src ${BOOT0}`,
        ]);

        const torDir = join(dir.path, 'tor');
        mkdirSync(torDir);
        writeFileSync(join(torDir, 'bird.conf'), torConfig(torDir));
        const torSocket = join(torDir, 'bird.ctl');
        tor.spawn(BIRD, ['-f', '-c', join(torDir, 'bird.conf'), '-s', torSocket]);
        const relay = tor.spawn('dnsmasq', [
          '--keep-in-foreground',
          '--conf-file=/dev/null',
          '--port=0',
          '--log-facility=-',
          '--interface=br1',
          `--pid-file=${join(torDir, 'dnsmasq.pid')}`,
          `--dhcp-relay=${TOR1},${BOOT0}`,
        ]);

        // The server starts joining while no boot server runs: it waits for a lease.
        node = server.spawn(process.execPath, [
          YAGURA,
          'node',
          'join',
          '--serial',
          NODE.serial,
          '--root',
          root,
          '--bird-socket',
          birdSocket,
          '--retry',
          '1s',
        ]);
        await node.waitForOutput(/"msg":"waiting for a DHCP lease on eth0/, 20_000);
        // Long enough for udhcpc to give up at least twice (3 discovers, 2 s apart, each time).
        await new Promise((resolve) => setTimeout(resolve, 15_000));
        timing('waited for a lease');

        yagura = boot.spawn(process.execPath, [
          YAGURA,
          'serve',
          '--data-dir',
          dataDir,
          '--listen',
          `${BOOT0}:10080`,
          '--dhcp-listen',
          '0.0.0.0:67',
          '--allow-ips',
          `${BOOT0}/32`,
        ]);
        await yagura.waitForOutput(/"serving"/, 20_000);
        const waitingForTemplate = new RegExp(`"msg":"waiting for ${escaped(SERVER)}: an Ignition template of role cs`);
        await node.waitForOutput(waitingForTemplate, 40_000).catch((error: Error) => {
          error.message += `\n--- yagura:\n${yagura!.output().slice(-3000)}\n--- relay:\n${relay.output().slice(-2000)}`;
          throw error;
        });
        timing('lease, waiting for a template');
        const lease = JSON.parse(
          node
            .output()
            .split('\n')
            .find((line) => line.includes('"msg":"DHCP lease'))!,
        ) as {
          lease: { address: string; prefixLength: number; router: string; serverId: string };
        };
        assert.equal(lease.lease.router, TOR1, 'the relay gave the ToR as the router');
        assert.equal(lease.lease.serverId, BOOT0, 'the lease came from the boot server, relayed');
        const range = leaseRange(site.plan.ipam, parseIPv4(NODE.node1)!);
        const leased = parseIPv4(lease.lease.address)!;
        assert.ok(leased >= range.first && leased <= range.last, `${lease.lease.address} is in rack 0's ToR1 lease range`);
        const waits = node.output().match(/"msg":"waiting for a DHCP lease on eth0/g) ?? [];
        assert.equal(waits.length, 1, 'a wait is logged once, not once per retry');
        assert.match(node.output(), /"msg":"waiting for a DHCP lease on eth0.*"msg":"waiting for .*role cs\b/s);

        // The operator uploads the generated template, with the real CLI.
        const templateFile = join(dir.path, 'cs.json');
        writeFileSync(templateFile, generated(ignitionTemplatePath('cs')));
        const set = await boot.exec(process.execPath, [
          YAGURA,
          'ignitions',
          'set',
          'cs',
          '1.0.0',
          '-f',
          templateFile,
          '--server',
          SERVER,
        ]);
        assert.match(set.stdout + set.stderr, /1\.0\.0/);

        await node.waitForOutput(/"msg":"BIRD started \(pid (\d+)\)"/, 30_000);
        timing('BIRD started');
        const birdPid = Number(/"msg":"BIRD started \(pid (\d+)\)"/.exec(node.output())![1]);
        assert.ok(yagura.output().includes(`"url":"/api/v1/boot/ignitions/${NODE.serial}/1.0.0"`), 'yagura served the config');

        // The three files, under the node's root.
        const file = (path: string) => readFileSync(join(root, path), 'utf8');
        assert.equal(file('etc/hostname'), `${NODE.name}\n`);
        const network = file('etc/yagura/network.conf')
          .split('\n')
          .filter((line) => line !== '' && !line.startsWith('#'));
        assert.deepEqual(network, [
          `hostname ${NODE.name}`,
          `node0 ${NODE.node0}/32`,
          `uplink eth0 ${NODE.node1}/26`,
          `uplink eth1 ${NODE.node2}/26`,
        ]);
        assert.equal(file('etc/bird/bird.conf'), serverConfig(site.plan, RACK, NODE), "the generator's config for this server");

        // Its addresses: node0/32 on lo, each uplink exactly its own address, the lease gone.
        const addresses = (device: string) =>
          execFileSync(IP, ['-n', server.name, '-4', '-o', 'address', 'show', 'dev', device], { encoding: 'utf8' });
        assert.match(addresses('lo'), new RegExp(`inet ${escaped(NODE.node0)}/32 `));
        const eth0 = addresses('eth0');
        assert.match(eth0, new RegExp(`inet ${escaped(NODE.node1)}/26 `));
        assert.equal(eth0.trim().split('\n').length, 1, `only node1 on eth0:\n${eth0}`);
        assert.doesNotMatch(eth0, new RegExp(`inet ${escaped(lease.lease.address)}/`));
        assert.match(addresses('eth1'), new RegExp(`inet ${escaped(NODE.node2)}/26 `));

        // The ToRs' view: both sessions up, node0/32 learned over each uplink.
        // birdc exits 1 for "Network not found" (no route yet): that is an answer to poll again, not a failure.
        const birdc = async (...command: string[]) =>
          tor.exec(BIRDC, ['-s', torSocket, ...command]).then(
            (result) => result.stdout,
            (error: { stdout?: string }) => error.stdout ?? '',
          );
        let route = '';
        await eventually(
          'node0/32 is learned over both uplinks',
          async () => {
            const protocols = await birdc('show', 'protocols');
            route = await birdc('show', 'route', `${NODE.node0}/32`, 'all');
            return (
              /node_tor1\s+BGP\s.*Established/.test(protocols) &&
              /node_tor2\s+BGP\s.*Established/.test(protocols) &&
              [`via ${escaped(NODE.node1)}`, `via ${escaped(NODE.node2)}`].every((part) => new RegExp(part).test(route))
            );
          },
          40_000,
        ).catch(async (error: Error) => {
          error.message += `\n--- tor route:\n${route}\n--- tor protocols:\n${await birdc('show', 'protocols')}\n--- node:\n${node!.output().slice(-3000)}`;
          throw error;
        });
        timing('both sessions Established, node0/32 learned twice');
        // The node's own BIRD, on the socket it was given.
        const own = (await server.exec(BIRDC, ['-s', birdSocket, 'show', 'protocols'])).stdout;
        assert.match(own, /rack0_tor1\s+BGP\s.*Established/);
        assert.match(own, /rack0_tor2\s+BGP\s.*Established/);
        t.diagnostic(`ToR: ${route.trim().split('\n').join(' | ')}`);

        // SIGTERM: BIRD stops, and node join exits with its status.
        const exited = new Promise<number | null>((resolve) => node!.child.once('exit', (code) => resolve(code)));
        node.child.kill('SIGTERM');
        assert.equal(await exited, 0, `node join exits 0 after SIGTERM:\n${node.output().slice(-2000)}`);
        assert.throws(() => process.kill(birdPid, 0), /ESRCH/, 'BIRD is gone');
        assert.match(node.output(), /"msg":"BIRD exited with status 0"/);
        assert.ok(
          !existsSync(birdSocket) ||
            !(await server.exec(BIRDC, ['-s', birdSocket, 'show', 'status']).then(
              () => true,
              () => false,
            )),
        );
        timing('stopped');

        // The lease, in the boot server's store.
        await yagura.stop();
        const closed = await openEmbeddedStore({ dataDir });
        try {
          const leases = await new DhcpLeaseRepository(closed).inRange(range);
          const record = leases.get(leased)?.record;
          assert.equal(record?.state, 'bound', `${lease.lease.address} is bound in the boot server's leases`);
          const mac = execFileSync(IP, ['-n', server.name, '-j', 'link', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
          assert.equal(record?.mac, (JSON.parse(mac) as { address: string }[])[0]!.address);
        } finally {
          await closed.close();
        }
      } finally {
        await node?.stop();
        for (const ns of spaces.reverse()) await ns.remove();
        dir.remove();
      }
    },
  );
});
