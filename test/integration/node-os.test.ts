/**
 * The node OS joins a rack: a QEMU VM (TCG) boots images/build-node-os.sh's
 * kernel and initrd with the kernel command line of the real per-machine iPXE
 * script, gets an address from `yagura serve`'s DHCP, fetches its rendered
 * Ignition config (the template `yagura dc generate` writes for its role,
 * registered from the generated ipam.json and machines.json) from the same server, applies it with Debian's ignition,
 * brings up node0 and its two uplinks and starts BIRD; a BIRD in the namespace
 * playing both ToRs of rack 0 sees both iBGP sessions Established and learns
 * the node's node0 /32 over each. All inside a namespace this test creates.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ImageRepository } from '../../src/boot/images.js';
import { setKernelParams } from '../../src/boot/kernel-params.js';
import { TemplateRepository } from '../../src/boot/templates/repository.js';
import { generateSite, ignitionTemplatePath, parseSiteSpec } from '../../src/fabric/index.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { ipamConfig, machineSpecInput } from '../../src/inventory/model.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { eventually } from '../helpers/boot-server.js';
import { YAGURA } from '../helpers/cli.js';
import { NetNs, type ProcessInNamespace } from '../helpers/netns.js';
import { BIRD, BIRDC, NODE_OS_FAILED, NODE_OS_READY, nodeOsImage } from '../helpers/node-os.js';
import { Qemu } from '../helpers/qemu.js';
import { tempDir } from '../helpers/temp.js';

const actor = { user: 'test', ip: '127.0.0.1' };
/** A one-rack site whose one VM server is the node under test: `yagura dc generate` gives its IPAM, machines and template. */
const SITE = `name: nodeos
racks: 1
servers:
  - { role: worker, count: 1, kind: vm }
`;
const site = generateSite(parseSiteSpec({ path: 'nodeos.yml', text: SITE }));
const generated = (path: string): string => site.files.find((file) => file.path === path)!.content;
const RACK = site.plan.racks[0]!;
const NODE = site.plan.machines.find((machine) => machine.name === 'rack0-worker1')!;
const SERIAL = NODE.serial;
// Rack 0 of the dctest IPAM: the node is its first server after the boot server (index 4), so
// node0 10.69.0.4, node1 10.69.0.68 toward ToR1, node2 10.69.0.132 toward ToR2.
const TOR1 = RACK.tors[0].address;
const TOR2 = RACK.tors[1].address;
const NODE0 = NODE.node0;
const NODE1 = NODE.node1;
const NODE2 = NODE.node2;
const RACK_AS = RACK.asn;
const SERVER = `http://${TOR1}:10080`;
const READY_LIMIT_MS = 90_000;

/** One BIRD standing in for both ToRs of rack 0 (route reflectors for the node, as in neco). */
function torConfig(dir: string): string {
  return [
    `log "${dir}/tor.log" all;`,
    `router id ${TOR1};`,
    'protocol device { scan time 5; }',
    // The node's sessions have BFD on (the generated config), as the real ToRs' do.
    'protocol bfd { interface "br*" { min rx interval 400 ms; min tx interval 400 ms; }; }',
    'template bgp node {',
    `  local as ${RACK_AS};`,
    '  direct;',
    '  bfd on;',
    '  rr client;',
    '  connect retry time 2;',
    '  ipv4 { import all; export none; };',
    '}',
    `protocol bgp node_tor1 from node { local ${TOR1} as ${RACK_AS}; neighbor ${NODE1} as ${RACK_AS}; }`,
    `protocol bgp node_tor2 from node { local ${TOR2} as ${RACK_AS}; neighbor ${NODE2} as ${RACK_AS}; }`,
    '',
  ].join('\n');
}

describe('the node OS joins the rack', () => {
  it(
    'DHCP → Ignition config from yagura serve → node0 + uplinks → BIRD Established with both ToRs, node0/32 learned',
    { timeout: 240_000 },
    async (t) => {
      const image = await nodeOsImage();
      const dir = tempDir('node-os');
      const dataDir = join(dir.path, 'data');
      let ns: NetNs | undefined;
      let yagura: ProcessInNamespace | undefined;
      let tor: ProcessInNamespace | undefined;
      let vm: Qemu | undefined;
      try {
        // The boot server's state: IPAM, the machine, kernel parameters, the node OS image, the worker template.
        const store = await openEmbeddedStore({ dataDir });
        const inventory = new Inventory(store);
        await inventory.config.setIpam(ipamConfig.parse(JSON.parse(generated('ipam.json'))), actor);
        const machines = (JSON.parse(generated('machines.json')) as unknown[]).map((entry) => machineSpecInput.parse(entry));
        await inventory.machines.register(machines, actor);
        await setKernelParams(store, 'coreos', 'console=ttyS0 panic=-1 loglevel=4', actor, 'test');
        const images = await ImageRepository.open({ store, dataDir, advertiseUrl: SERVER });
        const staging = join(dir.path, 'image');
        mkdirSync(staging);
        copyFileSync(image.vmlinuz, join(staging, 'kernel'));
        copyFileSync(image.initrd, join(staging, 'initrd.gz'));
        const tar = spawn('tar', ['-cf', '-', '-C', staging, 'kernel', 'initrd.gz'], { stdio: ['ignore', 'pipe', 'inherit'] });
        assert.equal((await images.upload('2026.12.0', tar.stdout, actor)).status, 201);
        const templates = new TemplateRepository(store, { inventory });
        const template = JSON.parse(generated(ignitionTemplatePath('worker'))) as Record<string, unknown>;
        await templates.putIgnition('worker', '1.0.0', { template }, SERVER, actor);
        await store.close();

        // Rack 0's two node-facing segments; the boot server sits on ToR1's.
        ns = NetNs.create();
        ns.addBridge('br1', `${TOR1}/26`);
        ns.addBridge('br2', `${TOR2}/26`);
        ns.addTap('tap1', 'br1');
        ns.addTap('tap2', 'br2');
        yagura = ns.spawn(process.execPath, [
          YAGURA,
          'serve',
          '--data-dir',
          dataDir,
          '--listen',
          `${TOR1}:10080`,
          '--dhcp-listen',
          '0.0.0.0:67',
          '--dhcp-local-address',
          TOR1,
        ]);
        const birdDir = join(dir.path, 'tor');
        mkdirSync(birdDir);
        writeFileSync(join(birdDir, 'bird.conf'), torConfig(birdDir));
        const torSocket = join(birdDir, 'bird.ctl');
        tor = ns.spawn(BIRD, ['-f', '-c', join(birdDir, 'bird.conf'), '-s', torSocket]);
        await yagura.waitForOutput(/"serving"/, 20_000);

        // The kernel command line exactly as the machine's iPXE script gives it.
        const script = (await ns.exec('curl', ['-sf', `${SERVER}/api/v1/boot/coreos/ipxe/${SERIAL}`])).stdout;
        const kernelLine = script.split('\n').find((line) => line.startsWith('kernel '));
        assert.ok(kernelLine, `the iPXE script has a kernel line:\n${script}`);
        const append = kernelLine.split(' ').slice(2).join(' ');
        assert.match(append, new RegExp(`\\bignition\\.config\\.url=\\S+/api/v1/boot/ignitions/${SERIAL}/1\\.0\\.0\\b`));

        vm = Qemu.start({
          name: 'node-os',
          netns: ns,
          memory: '384M',
          serial: SERIAL,
          kernel: { kernel: image.vmlinuz, initrd: image.initrd, append },
          nic: { tap: 'tap1', mac: '52:54:00:00:01:01' },
          extraArgs: [
            '-netdev',
            'tap,id=net1,ifname=tap2,script=no,downscript=no',
            '-device',
            'e1000,netdev=net1,mac=52:54:00:00:02:01,romfile=',
          ],
        });
        const ready = await Promise.race([
          vm.waitForConsole(NODE_OS_READY, READY_LIMIT_MS),
          vm.waitForConsole(NODE_OS_FAILED, READY_LIMIT_MS).then((failed) => {
            throw new Error(`the node OS failed: ${failed[0]}${vm!.diagnostics()}`);
          }),
        ]).catch(async (error: Error) => {
          const metrics = await ns!.exec('curl', ['-sf', `${SERVER}/metrics`]).catch(() => ({ stdout: '' }));
          const dhcp = metrics.stdout.split('\n').filter((line) => line.startsWith('yagura_dhcp'));
          error.message += `\n--- yagura:\n${yagura!.output().slice(-3000)}\n--- yagura DHCP metrics:\n${dhcp.join('\n')}`;
          throw error;
        });
        t.diagnostic(`boot to ready: ${Date.now() - vm.startedAt} ms wall, ${ready[4]} s guest uptime`);
        assert.equal(ready[1], SERIAL);
        assert.equal(ready[2], NODE0);

        const console = vm.console();
        assert.match(console, /YAGURA-NODE-OS dhcp eth0 10\.69\.0\.(9[6-9]|1[01]\d|12[0-6])\/26 /, 'a lease from ToR1 segment');
        for (const path of ['/etc/hostname', '/etc/yagura/network.conf', '/etc/bird/bird.conf'])
          assert.ok(console.includes(`YAGURA-NODE-OS ignition wrote ${path}`), `Ignition wrote ${path}`);
        assert.match(console, new RegExp(`YAGURA-NODE-OS uplink eth0 ${NODE1}/26`));
        assert.match(console, new RegExp(`YAGURA-NODE-OS uplink eth1 ${NODE2}/26`));
        assert.ok(yagura.output().includes(`"url":"/api/v1/boot/ignitions/${SERIAL}/1.0.0"`), 'yagura served the config');

        // The ToRs' view: both sessions up and node0/32 learned over each uplink.
        const birdc = async (...command: string[]) => (await ns!.exec(BIRDC, ['-s', torSocket, ...command])).stdout;
        let protocols = '';
        await eventually(
          'both ToR sessions are Established',
          async () => {
            protocols = await birdc('show', 'protocols');
            return /node_tor1\s+BGP\s.*Established/.test(protocols) && /node_tor2\s+BGP\s.*Established/.test(protocols);
          },
          30_000,
        ).catch((error: Error) => {
          error.message += `\n--- tor:\n${protocols}${vm!.diagnostics()}`;
          throw error;
        });
        // A route follows its session by a moment, and under TCG a stalled guest can miss BFD for a while and
        // re-establish: wait until node0/32 is learned over both uplinks at once.
        const escaped = (address: string) => address.replace(/\./g, '\\.');
        let route = '';
        await eventually(
          'node0/32 is learned over both uplinks',
          async () => {
            route = await birdc('show', 'route', `${NODE0}/32`, 'all');
            return [`${escaped(NODE0)}/32`, `via ${escaped(NODE1)}`, `via ${escaped(NODE2)}`].every((part) =>
              new RegExp(part).test(route),
            );
          },
          30_000,
        ).catch(async (error: Error) => {
          error.message += `\n--- tor route:\n${route}\n--- tor protocols:\n${await birdc('show', 'protocols')}${vm!.diagnostics()}`;
          throw error;
        });
        await vm.waitForConsole(/YAGURA-NODE-OS bgp rack0_tor1=Established rack0_tor2=Established/, 20_000);
        assert.ok(vm.running, 'the node OS stays up');
        for (const line of vm.console().match(/YAGURA-NODE-OS [^\r\n]*/g) ?? []) t.diagnostic(line);
        t.diagnostic(`ToR: ${route.trim()}`);
      } finally {
        await vm?.stop();
        await tor?.stop();
        await yagura?.stop();
        await ns?.remove();
        dir.remove();
      }
    },
  );
});
