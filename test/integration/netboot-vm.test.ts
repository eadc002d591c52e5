/**
 * The whole boot chain with real VMs on a rack segment whose DHCP is relayed,
 * as in the generated data center: a ToR namespace runs dnsmasq as a pure
 * relay (`--dhcp-relay=<ToR>,<boot server node0>`), which also sends IPv6
 * router advertisements (iPXE waits ~16 s for one), in front of `yagura serve`,
 * which listens on its node0 in another namespace and is reached by routing.
 *
 *   VM ── br0 (10.69.0.193/26, rack 1's segment) ToR [dnsmasq relay] 10.0.1.0/31 ── 10.0.1.1/31 boot server [node0 10.69.0.3 on lo, yagura serve]
 *
 * Two firmware paths, one VM boot each, one after the other:
 *   uefi: OVMF's UEFI HTTP Boot (PXE off, as `yagura dc` starts UEFI VMs) → DHCP
 *         gives the URL of iPXE's EFI binary → iPXE does DHCP again → the chain script.
 *   bios: SeaBIOS → QEMU's iPXE ROM → DHCP gives the chain script.
 * Then both: the per-machine script by SMBIOS serial → kernel + initrd → the test
 * OS prints its marker and powers off. Nothing touches the host's network.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { ImageRepository } from '../../src/boot/images.js';
import { routerAdvertisementArgs } from '../../src/fabric/index.js';
import { setKernelParams } from '../../src/boot/kernel-params.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { YAGURA } from '../helpers/cli.js';
import { NetNs, type ProcessInNamespace } from '../helpers/netns.js';
import { Qemu } from '../helpers/qemu.js';
import { tempDir } from '../helpers/temp.js';
import { MARKER, testImage } from '../helpers/test-image.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

const actor = { user: 'test', ip: '127.0.0.1' };
const NODE0 = '10.69.0.3';
const TOR = '10.69.0.193';
const TOR_RA_ADDRESS = 'fd79:6167:1:1::1/64';
/** Rack 1's lease range in the reference IPAM: 10.69.0.224–.254. */
const RACK1_LEASE = /^10\.69\.0\.(22[4-9]|2[34]\d|25[0-4])$/;
/** Generous: a whole boot takes about 20 s (uefi) and 8 s (bios) under TCG on 2 shared cores. */
const BOOT_LIMIT_MS = 240_000;
const IMAGE = '2026.11.0';

type Stage = { name: string; pattern: RegExp };

describe('netboot VMs through a DHCP relay from yagura serve', { timeout: 600_000 }, () => {
  const dir = tempDir('netboot-vm');
  const dataDir = join(dir.path, 'data');
  let server: NetNs | undefined;
  let tor: NetNs | undefined;
  let yagura: ProcessInNamespace | undefined;
  let relay: ProcessInNamespace | undefined;

  before(async () => {
    const image = await testImage();
    // The boot server's state: IPAM, two machines in rack 1, kernel parameters, one image.
    const store = await openEmbeddedStore({ dataDir });
    const inventory = new Inventory(store);
    await inventory.config.setIpam(EXAMPLE_IPAM, actor);
    await inventory.machines.register(
      ['VM-UEFI', 'VM-BIOS'].map((serial) => ({ serial, rack: 1, role: 'worker', bmc: { type: 'IPMI-2.0' } })),
      actor,
    );
    await setKernelParams(store, 'coreos', 'console=ttyS0 panic=-1', actor, 'test');
    const images = await ImageRepository.open({ store, dataDir, advertiseUrl: `http://${NODE0}:10080` });
    const staging = join(dir.path, 'image');
    mkdirSync(staging);
    copyFileSync(image.vmlinuz, join(staging, 'kernel'));
    copyFileSync(image.initrd, join(staging, 'initrd.gz'));
    const tar = spawn('tar', ['-cf', '-', '-C', staging, 'kernel', 'initrd.gz'], { stdio: ['ignore', 'pipe', 'inherit'] });
    assert.equal((await images.upload(IMAGE, tar.stdout, actor)).status, 201);
    await store.close();

    // The boot server: node0 on lo, a routed link to the ToR; replies to the relay leave from node0 (BIRD's krt_prefsrc in the DC).
    server = NetNs.create();
    tor = NetNs.create();
    server.batch([
      `addr add ${NODE0}/32 dev lo`,
      `link add up0 type veth peer name down0 netns ${tor.name}`,
      'addr add 10.0.1.1/31 dev up0',
      'link set up0 up',
      `route add 10.69.0.192/26 via 10.0.1.0 src ${NODE0}`,
    ]);
    tor.batch(['addr add 10.0.1.0/31 dev down0', 'link set down0 up', `route add ${NODE0}/32 via 10.0.1.1`]);
    tor.addBridge('br0', `${TOR}/26`);
    // The prefix the relay advertises, as a generated ToR has (TorPlan.raAddress).
    tor.batch([`addr add ${TOR_RA_ADDRESS} dev br0 nodad`]);
    tor.addTap('tap0', 'br0');
    await tor.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);

    yagura = server.spawn(process.execPath, [
      YAGURA,
      'serve',
      '--data-dir',
      dataDir,
      '--listen',
      `${NODE0}:10080`,
      '--dhcp-listen',
      '0.0.0.0:67',
    ]);
    await yagura.waitForOutput(/"serving"/, 30_000);
    // The ToR's relay, as `yagura dc generate` writes it (no DNS, no DHCP service of its own).
    relay = tor.spawn('/usr/sbin/dnsmasq', [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--port=0',
      '--log-facility=-',
      '--interface=br0',
      `--pid-file=${join(dir.path, 'dnsmasq.pid')}`,
      `--dhcp-relay=${TOR},${NODE0}`,
      ...routerAdvertisementArgs('br0'),
    ]);
    await relay.waitForOutput(/DHCP relay from 10\.69\.0\.193 to 10\.69\.0\.3/, 10_000);
    await relay.waitForOutput(/router advertisement on fd79:6167:1:1::, constructed for br0/, 10_000);
  });

  after(async () => {
    await relay?.stop();
    await yagura?.stop();
    await tor?.remove();
    await server?.remove();
    dir.remove();
  });

  /** Boots one VM and checks what a user would see; the stages' times go to the diagnostics. */
  async function netboot(
    t: TestContext,
    firmware: 'uefi' | 'bios',
    serial: string,
    stages: Stage[],
  ): Promise<{ log: string; console: string }> {
    const logStart = yagura!.output().length;
    const vm = Qemu.start({
      name: `netboot-${firmware}`,
      netns: tor,
      memory: '512M',
      serial,
      firmware,
      nic: { tap: 'tap0', mac: firmware === 'uefi' ? '52:54:00:00:01:01' : '52:54:00:00:01:02' },
      netboot: firmware === 'bios',
    });
    const times: string[] = [];
    try {
      let address = '';
      for (const stage of [...stages, { name: 'the test OS', pattern: MARKER }]) {
        const match = await vm
          .waitForConsole(stage.pattern, BOOT_LIMIT_MS - (Date.now() - vm.startedAt))
          .catch((error: Error) => {
            error.message += `\n--- yagura:\n${yagura!.output().slice(logStart).slice(-4000)}\n--- relay:\n${relay!.output().slice(-2000)}`;
            throw error;
          });
        times.push(`${stage.name} ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s`);
        if (stage.name === 'iPXE has an address') address = match[1]!;
        if (stage.pattern === MARKER) {
          assert.equal(match[1], serial, 'the booted OS sees its SMBIOS serial');
          assert.match(
            match[2]!,
            new RegExp(`\\byagura\\.serial=${serial}\\b`),
            'the kernel line came from the per-machine script',
          );
          assert.match(match[2]!, /\bconsole=ttyS0 panic=-1\b/, 'with the kernel parameters');
        }
      }
      await vm.waitForExit(BOOT_LIMIT_MS - (Date.now() - vm.startedAt));
      times.push(`powered off ${((Date.now() - vm.startedAt) / 1000).toFixed(1)} s`);
      t.diagnostic(`${firmware}: ${times.join(', ')} (after QEMU started)`);
      assert.match(address, RACK1_LEASE, 'the address is from the relayed segment’s (rack 1’s) lease range');
      const ipxe = vm.console().slice(vm.console().lastIndexOf('iPXE initialising devices'));
      assert.match(
        ipxe,
        /net0: fd79:6167:1:1:[0-9a-f:]+\/64/,
        `iPXE took the relay’s router advertisement (its SLAAC address) instead of waiting for one:\n${ipxe.slice(0, 1500)}`,
      );
      assert.match(vm.console(), new RegExp(`Yagura: booting ${serial} with image ${IMAGE.replaceAll('.', '\\.')}`));
      const log = yagura!.output().slice(logStart);
      for (const path of [
        '/api/v1/boot/coreos/ipxe',
        `/api/v1/boot/coreos/ipxe/${serial}`,
        `/api/v1/boot/coreos/images/${IMAGE}/kernel`,
        `/api/v1/boot/coreos/images/${IMAGE}/initrd.gz`,
      ])
        assert.ok(log.includes(`"url":"${path}"`), `yagura served ${path}`);
      return { log, console: vm.console() };
    } finally {
      await vm.stop();
    }
  }

  it('UEFI HTTP Boot (OVMF): the iPXE EFI binary, then the chain script, the machine’s script, kernel and initrd', async (t) => {
    const { log, console } = await netboot(t, 'uefi', 'VM-UEFI', [
      { name: 'HTTP Boot starts', pattern: />>Start HTTP Boot over IPv4/ },
      { name: 'OVMF has an address', pattern: /Station IP address is (\S+)/ },
      { name: 'iPXE starts', pattern: /iPXE initialising devices/ },
      { name: 'iPXE configures net0', pattern: /Configuring \(net0/ },
      { name: 'iPXE has an address', pattern: /net0: (\S+)\/255\.255\.255\.192 gw 10\.69\.0\.193/ },
      { name: 'kernel + initrd loaded', pattern: /initrd\.gz[.\s]*ok/ },
    ]);
    assert.match(/Station IP address is (\S+)/.exec(console)![1]!, RACK1_LEASE, 'OVMF’s address is from rack 1’s range too');
    assert.match(
      console,
      /URI: http:\/\/10\.69\.0\.3:10080\/api\/v1\/boot\/ipxe\.efi/,
      'the URL names node0, where serve listens',
    );
    assert.ok(log.includes('"url":"/api/v1/boot/ipxe.efi"'), 'yagura served the iPXE EFI binary');
    assert.doesNotMatch(console, /Start PXE over/, 'OVMF never tried PXE');
  });

  it('SeaBIOS with the iPXE ROM: the chain script, the machine’s script, kernel and initrd', async (t) => {
    const { log } = await netboot(t, 'bios', 'VM-BIOS', [
      { name: 'iPXE starts', pattern: /iPXE initialising devices/ },
      { name: 'iPXE configures net0', pattern: /Configuring \(net0/ },
      { name: 'iPXE has an address', pattern: /net0: (\S+)\/255\.255\.255\.192 gw 10\.69\.0\.193/ },
      { name: 'kernel + initrd loaded', pattern: /initrd\.gz[.\s]*ok/ },
    ]);
    assert.ok(!log.includes('"url":"/api/v1/boot/ipxe.efi"'), 'a BIOS machine needs no iPXE EFI binary');
  });
});
