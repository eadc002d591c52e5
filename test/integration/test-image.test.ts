/**
 * The netboot test OS (images/build-test-image.sh) and the VM harness that the
 * boot-server tests reuse: a real QEMU under TCG boots the image directly, and
 * then through the real netboot chain — SeaBIOS, the iPXE ROM of ipxe-qemu,
 * DHCP from a real dnsmasq, an iPXE script, kernel and initrd over HTTP — all
 * inside a network namespace the test creates and removes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it, type TestContext } from 'node:test';
import { listTestNamespaces, NetNs, rootNamespaceLinks } from '../helpers/netns.js';
import { Qemu } from '../helpers/qemu.js';
import { tempDir } from '../helpers/temp.js';
import { BUILD_SCRIPT, DNSMASQ, MARKER, type TestImage, testImage } from '../helpers/test-image.js';

const execFileAsync = promisify(execFile);

// Measured on the 2-core TCG machine: direct boot to power-off ~6 s, netboot ~25-33 s.
// The limits leave room for a machine busy with other test files.
const DIRECT_BOOT_LIMIT_MS = 60_000;
const NETBOOT_LIMIT_MS = 120_000;

describe('netboot test OS', () => {
  it('builds with images/build-test-image.sh, and a second run reuses the build', { timeout: 15 * 60_000 }, async (t) => {
    const image = await testImage();
    const started = Date.now();
    const { stdout } = await execFileAsync('bash', [BUILD_SCRIPT]);
    t.diagnostic(`cached rebuild took ${Date.now() - started} ms`);
    assert.deepEqual(stdout.trim().split('\n'), [image.vmlinuz, image.initrd]);
  });

  it('boots directly under QEMU, prints the SMBIOS serial and powers itself off', { timeout: 15 * 60_000 }, async (t) => {
    const image = await testImage();
    const vm = Qemu.start({
      name: 'direct',
      serial: 'TEST123',
      kernel: { kernel: image.vmlinuz, initrd: image.initrd, append: 'console=ttyS0 panic=-1 yagura.test=direct' },
    });
    try {
      const marker = await vm.waitForConsole(MARKER, DIRECT_BOOT_LIMIT_MS);
      assert.equal(marker[1], 'TEST123');
      assert.match(marker[2]!, /\bconsole=ttyS0\b.*\byagura\.test=direct\b/);
      const exit = await vm.waitForExit(DIRECT_BOOT_LIMIT_MS - (Date.now() - vm.startedAt));
      assert.deepEqual(exit, { code: 0, signal: null }, `QEMU should exit 0 after the guest's poweroff${vm.diagnostics()}`);
      assert.match(vm.console(), /reboot: Power down/);
      t.diagnostic(`direct boot to power-off took ${Date.now() - vm.startedAt} ms (limit ${DIRECT_BOOT_LIMIT_MS} ms)`);
    } finally {
      await vm.stop();
    }
    assertGone(vm.pid);
  });

  it(
    'netboots through the iPXE ROM: dnsmasq DHCP, an iPXE script, kernel and initrd over HTTP',
    { timeout: 15 * 60_000 },
    async (t) => {
      const image = await testImage();
      const linksBefore = rootNamespaceLinks();
      const www = tempDir('ipxe-www');
      const ns = NetNs.create();
      const pids: (number | undefined)[] = [];
      let vm: Qemu | undefined;
      try {
        await netbootThroughIpxe(t, ns, www.path, image, pids, (started) => (vm = started));
      } finally {
        await vm?.stop();
        await ns.remove();
        www.remove();
      }
      // Everything the test created is gone: processes, the namespace and its links, and the root namespace is untouched.
      for (const pid of [...pids, vm?.pid]) assertGone(pid);
      assert.ok(!listTestNamespaces().includes(ns.name), `namespace ${ns.name} is still there`);
      assert.deepEqual(rootNamespaceLinks(), linksBefore);
    },
  );
});

async function netbootThroughIpxe(
  t: TestContext,
  ns: NetNs,
  www: string,
  image: TestImage,
  pids: (number | undefined)[],
  onVm: (vm: Qemu) => void,
): Promise<void> {
  const server = '10.250.0.1';
  const port = 8080;
  const base = `http://${server}:${port}`;
  ns.addBridge('br0', `${server}/24`);
  ns.addTap('tap0', 'br0');

  copyFileSync(image.vmlinuz, join(www, 'vmlinuz'));
  copyFileSync(image.initrd, join(www, 'initrd.gz'));
  // ${serial} is iPXE's SMBIOS serial setting: the script proves iPXE read it by passing it on.
  writeFileSync(
    join(www, 'boot.ipxe'),
    [
      '#!ipxe',
      'echo YAGURA-IPXE script serial=${serial} mac=${net0/mac} ip=${net0/ip}',
      `kernel ${base}/vmlinuz console=ttyS0 panic=-1 yagura.via=ipxe yagura.ipxe-serial=\${serial}`,
      `initrd ${base}/initrd.gz`,
      'boot',
      '',
    ].join('\n'),
  );

  const http = ns.spawn(process.execPath, ['-e', staticHttpServer(www, server, port)]);
  pids.push(http.child.pid);
  await http.waitForOutput(/^listening/m, 10_000);

  const dnsmasq = ns.spawn(DNSMASQ, [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--port=0', // no DNS
    '--interface=br0',
    '--bind-interfaces',
    '--user=root',
    '--pid-file=',
    `--dhcp-leasefile=${join(www, 'dnsmasq.leases')}`,
    '--dhcp-range=10.250.0.100,10.250.0.199,255.255.255.0,10m',
    // iPXE sends option 175 (its encapsulated options) and user class "iPXE".
    '--dhcp-match=set:ipxe,175',
    '--dhcp-userclass=set:ipxe,iPXE',
    // Only iPXE clients get an answer, and with it the script's URL.
    '--dhcp-ignore=tag:!ipxe',
    `--dhcp-boot=tag:ipxe,${base}/boot.ipxe`,
    '--log-dhcp',
    '--log-facility=-',
  ]);
  pids.push(dnsmasq.child.pid);
  await dnsmasq.waitForOutput(/sockets bound exclusively to interface br0/, 10_000);

  const vm = Qemu.start({
    name: 'ipxe',
    netns: ns,
    serial: 'NETBOOT1',
    nic: { tap: 'tap0', mac: '52:54:00:12:34:56' },
    netboot: true,
  });
  onVm(vm);
  try {
    const marker = await vm.waitForConsole(MARKER, NETBOOT_LIMIT_MS);
    assert.equal(marker[1], 'NETBOOT1');
    assert.match(marker[2]!, /\byagura\.via=ipxe yagura\.ipxe-serial=NETBOOT1\b/);
    await vm.waitForExit(NETBOOT_LIMIT_MS - (Date.now() - vm.startedAt));
    t.diagnostic(`netboot to power-off took ${Date.now() - vm.startedAt} ms (limit ${NETBOOT_LIMIT_MS} ms)`);
  } catch (error) {
    (error as Error).message += `\n--- dnsmasq:\n${dnsmasq.output().slice(-3000)}\n--- http:\n${http.output()}`;
    throw error;
  }
  // iPXE itself ran the script (its console output reaches the serial log through graphics=off).
  assert.match(vm.console(), /YAGURA-IPXE script serial=NETBOOT1 mac=52:54:00:12:34:56 ip=10\.250\.0\.1\d\d/);
  assert.match(dnsmasq.output(), /user class: iPXE/);
  assert.match(dnsmasq.output(), /tags: ipxe/);
  assert.match(dnsmasq.output(), /DHCPACK\(br0\) 10\.250\.0\.\d+ 52:54:00:12:34:56/);
  assert.match(dnsmasq.output(), /bootfile-name\s+http:\/\/10\.250\.0\.1:8080\/boot\.ipxe/);
  for (const file of ['boot.ipxe', 'vmlinuz', 'initrd.gz']) assert.match(http.output(), new RegExp(`GET /${file} 200`));
}

/** A tiny static file server (Node, run with -e inside the namespace) that logs every request. */
function staticHttpServer(dir: string, host: string, port: number): string {
  return `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const dir = ${JSON.stringify(dir)};
http
  .createServer((req, res) => {
    const file = path.join(dir, path.basename(decodeURIComponent(req.url.split('?')[0])));
    fs.stat(file, (error, stat) => {
      if (error || !stat.isFile()) {
        res.writeHead(404).end();
        console.log(req.method + ' ' + req.url + ' 404');
        return;
      }
      res.writeHead(200, { 'content-length': stat.size, 'content-type': 'application/octet-stream' });
      fs.createReadStream(file).pipe(res).on('finish', () => console.log(req.method + ' ' + req.url + ' 200 ' + stat.size));
    });
  })
  .listen(${port}, ${JSON.stringify(host)}, () => console.log('listening'));
`;
}

function assertGone(pid: number | undefined): void {
  if (pid === undefined) return;
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} is still running`);
}
