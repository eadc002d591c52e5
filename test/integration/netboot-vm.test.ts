/**
 * The whole boot chain with a real VM: QEMU's iPXE ROM asks Yagura's DHCP for
 * an address, gets the chain script's URL, chains to the per-machine script
 * by its SMBIOS serial, loads the newest image's kernel and initrd over HTTP,
 * and the booted test OS prints its marker. All inside a namespace this test
 * creates; nothing touches the host's network.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ImageRepository } from '../../src/boot/images.js';
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
const SERVER = '10.69.0.3';
const NETBOOT_LIMIT_MS = 150_000;

describe('netboot a VM from yagura serve', () => {
  it(
    'DHCP → iPXE chain script → per-machine script by SMBIOS serial → kernel + initrd → the test OS runs',
    { timeout: 300_000 },
    async (t) => {
      const image = await testImage();
      const dir = tempDir('netboot-vm');
      const dataDir = join(dir.path, 'data');
      let ns: NetNs | undefined;
      let yagura: ProcessInNamespace | undefined;
      let vm: Qemu | undefined;
      try {
        // The boot server's state: IPAM, one registered machine, kernel parameters, one image.
        const store = await openEmbeddedStore({ dataDir });
        const inventory = new Inventory(store);
        await inventory.config.setIpam(EXAMPLE_IPAM, actor);
        await inventory.machines.register([{ serial: 'VM-0001', rack: 0, role: 'worker', bmc: { type: 'IPMI-2.0' } }], actor);
        await setKernelParams(store, 'coreos', 'console=ttyS0 panic=-1', actor, 'test');
        const images = await ImageRepository.open({ store, dataDir, advertiseUrl: `http://${SERVER}:10080` });
        const staging = join(dir.path, 'image');
        mkdirSync(staging);
        copyFileSync(image.vmlinuz, join(staging, 'kernel'));
        copyFileSync(image.initrd, join(staging, 'initrd.gz'));
        const tar = spawn('tar', ['-cf', '-', '-C', staging, 'kernel', 'initrd.gz'], { stdio: ['ignore', 'pipe', 'inherit'] });
        assert.equal((await images.upload('2026.11.0', tar.stdout, actor)).status, 201);
        await store.close();

        ns = NetNs.create();
        ns.addBridge('br0', `${SERVER}/26`);
        ns.addTap('tap0', 'br0');
        yagura = ns.spawn(process.execPath, [
          YAGURA,
          'serve',
          '--data-dir',
          dataDir,
          '--listen',
          `${SERVER}:10080`,
          '--dhcp-listen',
          '0.0.0.0:67',
        ]);
        await yagura.waitForOutput(/"serving"/, 20_000);

        vm = Qemu.start({
          name: 'yagura-netboot',
          netns: ns,
          serial: 'VM-0001',
          nic: { tap: 'tap0', mac: '52:54:00:00:00:01' },
          netboot: true,
        });
        const marker = await vm.waitForConsole(MARKER, NETBOOT_LIMIT_MS).catch((error: Error) => {
          error.message += `\n--- yagura:\n${yagura!.output().slice(-4000)}`;
          throw error;
        });
        assert.equal(marker[1], 'VM-0001', 'the booted OS sees its SMBIOS serial');
        assert.match(marker[2]!, /\byagura\.serial=VM-0001\b/, 'the kernel line came from the per-machine script');
        assert.match(marker[2]!, /\bconsole=ttyS0 panic=-1\b/, 'with the kernel parameters');
        await vm.waitForExit(NETBOOT_LIMIT_MS - (Date.now() - vm.startedAt));
        t.diagnostic(`netboot to power-off took ${Date.now() - vm.startedAt} ms`);

        const console = vm.console();
        assert.match(console, /Yagura: booting VM-0001 with image 2026\.11\.0/, 'iPXE ran the per-machine script');
        // The address came from rack 0's lease range (.32–.62) and the boot files from the image store.
        assert.match(console, /10\.69\.0\.(3[2-9]|[45]\d|6[0-2])\b/);
        const log = yagura.output();
        for (const path of [
          '/api/v1/boot/coreos/ipxe',
          '/api/v1/boot/coreos/ipxe/VM-0001',
          '/api/v1/boot/coreos/images/2026.11.0/kernel',
          '/api/v1/boot/coreos/images/2026.11.0/initrd.gz',
        ]) {
          assert.ok(log.includes(`"url":"${path}"`), `yagura served ${path}`);
        }
      } finally {
        await vm?.stop();
        await yagura?.stop();
        await ns?.remove();
        dir.remove();
      }
    },
  );
});
