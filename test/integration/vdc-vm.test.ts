/**
 * A virtual DC's VM node (src/vdc/host/vm.ts) with a real QEMU under TCG and
 * the repo's test OS booted directly (kernel + initrd): power on and off, reset,
 * the guest powering itself off and being started again, the console log and
 * socket, a raw volume that outlives restarts, and a QEMU that cannot start.
 * No network interfaces, so no namespace is needed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../../src/lib/errors.js';
import { attachConsole } from '../../src/vdc/host/console.js';
import { findExecutable } from '../../src/vdc/host/executables.js';
import { ImageCache } from '../../src/vdc/host/images.js';
import { VirtualMachine, type PowerChange } from '../../src/vdc/host/vm.js';
import { parseTopology, type VmNode } from '../../src/vdc/spec/index.js';
import { registerCleanup } from '../helpers/netns.js';
import { qemuAccel } from '../helpers/qemu.js';
import { tempDir } from '../helpers/temp.js';
import { MARKER, testImage, type TestImage } from '../helpers/test-image.js';

// A TCG boot of the test OS takes ~6 s here; the limit leaves room for a machine busy with other tests.
const BOOT_LIMIT_MS = 90_000;
const MARKERS = new RegExp(MARKER.source, 'g');

let image: TestImage;
let dir: { path: string; remove: () => void };
const machines: VirtualMachine[] = [];

before(async () => {
  image = await testImage();
  dir = tempDir('vdc-vm');
});

after(async () => {
  for (const vm of machines) await vm.close();
  dir?.remove();
});

interface MachineOptions {
  append?: string;
  kernel?: string;
  yaml?: string[];
}

/** A VM node booting the test OS directly, 256M and 1 CPU; all nodes share one run and one data dir, as in a DC. */
function machine(name: string, options: MachineOptions = {}): VirtualMachine {
  const topology = parseTopology([
    {
      path: join(dir.path, `${name}.yml`),
      text: [
        'kind: Node',
        `name: ${name}`,
        'cpu: 1',
        'memory: 256M',
        `smbios: {serial: ${name}-serial}`,
        `kernel: ${options.kernel ?? image.vmlinuz}`,
        `initrd: ${image.initrd}`,
        `append: ${options.append ?? 'console=ttyS0'}`,
        ...(options.yaml ?? []),
      ].join('\n'),
    },
  ]);
  const vm = new VirtualMachine({
    node: topology.nodes[0] as VmNode,
    dcName: 'test',
    runDir: join(dir.path, 'run'),
    dataDir: join(dir.path, 'data'),
    taps: [],
    images: new ImageCache({ cacheDir: join(dir.path, 'cache'), images: [] }),
    accel: qemuAccel(),
  });
  machines.push(vm);
  // If the test process dies, do not leave QEMU behind.
  registerCleanup(() => {
    if (vm.pid !== undefined) process.kill(vm.pid, 'SIGKILL');
  });
  return vm;
}

function markers(vm: VirtualMachine): RegExpMatchArray[] {
  return existsSync(vm.consoleLog) ? [...readFileSync(vm.consoleLog, 'latin1').matchAll(MARKERS)] : [];
}

async function waitFor<T>(what: string, vm: VirtualMachine, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + BOOT_LIMIT_MS;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) {
      const log = existsSync(vm.consoleLog) ? readFileSync(vm.consoleLog, 'latin1').slice(-2000) : '(no console log)';
      assert.fail(`${what}: not within ${BOOT_LIMIT_MS} ms; power ${vm.power()}; console tail:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const waitForBoots = (vm: VirtualMachine, count: number) =>
  waitFor(`boot ${count}`, vm, () => markers(vm).length >= count && markers(vm));

/** A process's argv, NUL-separated as in /proc. */
function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('VM node under QEMU', { timeout: 10 * 60_000 }, () => {
  it('powers on, off, on again and resets, each boot appended to one console log; a raw volume is made once', async () => {
    const vm = machine('stay', {
      append: 'console=ttyS0 yagura.stay=1',
      yaml: ['volumes: [{kind: raw, name: scratch, size: 64M, format: raw}]'],
    });
    const changes: PowerChange[] = [];
    vm.onPowerChange((change) => changes.push(change));
    const volume = join(dir.path, 'data', 'volumes', 'stay', 'scratch.img');

    await vm.powerOn();
    assert.equal(vm.power(), 'on');
    const pid = vm.pid!;
    assert.ok(isRunning(pid));
    assert.equal(readFileSync(join(dir.path, 'run', 'stay.pid'), 'utf8').trim(), String(pid), 'the PID file names QEMU');
    let boots = await waitForBoots(vm, 1);
    assert.equal(boots[0]![1], 'stay-serial', 'the guest sees the node’s SMBIOS serial');
    assert.match(boots[0]![2]!, /yagura\.stay=1/);
    assert.equal(statSync(volume).size, 64 * 2 ** 20, 'a 64M raw disk');
    const volumeInode = statSync(volume).ino;

    // The console socket: a shell on the test OS answers, and Ctrl-] detaches.
    await waitFor('the shell', vm, () => readFileSync(vm.consoleLog, 'latin1').includes('staying up'));
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let seen = '';
    stdout.on('data', (chunk: Buffer) => (seen += chunk.toString('latin1')));
    const session = attachConsole(vm.consoleSocket, stdin, stdout);
    await new Promise((resolve) => setTimeout(resolve, 500));
    stdin.write('echo console-$((6*7))\r');
    await waitFor('the shell’s answer', vm, () => seen.includes('console-42'));
    stdin.write('\x1d');
    assert.equal(await session, 'detached');
    assert.equal(vm.power(), 'on', 'detaching leaves the machine running');
    // Input from a pipe: what it holds reaches the guest, and its end detaches.
    const piped = new PassThrough();
    const again = attachConsole(vm.consoleSocket, piped, new PassThrough());
    piped.end('echo piped-$((7*6))\r');
    assert.equal(await again, 'detached');
    await waitFor('the piped command’s output in the log', vm, () => readFileSync(vm.consoleLog, 'latin1').includes('piped-42'));

    await vm.powerOff();
    assert.equal(vm.power(), 'off');
    assert.equal(vm.pid, undefined);
    assert.equal(isRunning(pid), false, 'QEMU is gone');
    assert.equal(existsSync(join(dir.path, 'run', 'stay.pid')), false, 'the PID file is removed');
    await assert.rejects(attachConsole(vm.consoleSocket, new PassThrough(), new PassThrough()), /the VM is not running/);

    // Disks persist: whatever is in the volume file now must still be there after the next start.
    writeFileSync(volume, 'written while off', { flag: 'r+' });
    await vm.powerOn();
    boots = await waitForBoots(vm, 2);
    assert.equal(boots.length, 2, 'the log kept the first boot');
    assert.notEqual(vm.pid, pid, 'a new QEMU process');
    assert.equal(statSync(volume).ino, volumeInode, 'the raw volume was reused, not made again');
    assert.equal(readFileSync(volume).subarray(0, 17).toString(), 'written while off');

    const secondPid = vm.pid;
    await vm.reset();
    boots = await waitForBoots(vm, 3);
    assert.equal(boots.length, 3);
    assert.equal(vm.pid, secondPid, 'a reset keeps the QEMU process');
    assert.equal(vm.power(), 'on');

    // A boot override set while running cannot reach the running firmware: a reset then restarts QEMU with it.
    vm.setBootOverride({ device: 'pxe', once: false });
    await vm.reset();
    await waitForBoots(vm, 4);
    assert.notEqual(vm.pid, secondPid);
    assert.match(commandLine(vm.pid!), /-boot\0order=n,reboot-timeout=30000\0/);
    assert.deepEqual(vm.bootOverride(), { device: 'pxe', once: false }, 'a persistent override stays');

    // QEMU dying is reported as such, and the machine is off.
    const thirdPid = vm.pid!;
    process.kill(thirdPid, 'SIGKILL');
    await waitFor('the crash to be noticed', vm, () => vm.power() === 'off');
    assert.deepEqual(
      changes.map((change) => `${change.state}/${change.cause}`),
      ['on/request', 'off/request', 'on/request', 'off/request', 'on/request', 'off/crash'],
    );
    assert.match(changes[5]!.detail!, /killed by SIGKILL/);
    assert.equal(existsSync(join(dir.path, 'run', 'stay.pid')), false, 'the stale PID file is removed');
  });

  it('a guest that powers itself off leaves the machine off, listeners told, and it can be powered on again', async () => {
    const vm = machine('leave');
    const changes: PowerChange[] = [];
    vm.onPowerChange((change) => changes.push(change));
    const offByGuest = () =>
      new Promise<void>((resolve) =>
        vm.onPowerChange((change) => change.state === 'off' && change.cause === 'guest' && resolve()),
      );

    let off = offByGuest();
    await vm.powerOn();
    await off;
    assert.equal(vm.power(), 'off');
    assert.equal(markers(vm).length, 1);
    assert.match(readFileSync(vm.consoleLog, 'latin1'), /YAGURA-TEST-OS powering off/);

    // A once-override applies to the next start only.
    vm.setBootOverride({ device: 'pxe', once: true });
    off = offByGuest();
    await vm.powerOn();
    assert.match(commandLine(vm.pid!), /-boot\0once=n,reboot-timeout=30000\0/);
    assert.equal(vm.bootOverride(), undefined, 'cleared once used');
    await off;
    assert.equal(markers(vm).length, 2, 'it booted again');
    assert.deepEqual(
      changes.map((change) => `${change.state}/${change.cause}`),
      ['on/request', 'off/guest', 'on/request', 'off/guest'],
    );
  });

  it('reports a QEMU that cannot start with the end of its stderr, and stays off', async () => {
    const missing = join(dir.path, 'no-such-vmlinuz');
    const broken = machine('broken', { kernel: missing });
    await assert.rejects(
      broken.powerOn(),
      (error: unknown) =>
        error instanceof UserError &&
        error.message.startsWith('node broken: QEMU failed to start: QEMU exited (exited with code 1)') &&
        error.message.includes(missing),
    );
    assert.equal(broken.power(), 'off');
    assert.equal(existsSync(join(dir.path, 'run', 'broken.pid')), false);
  });

  it('names the package to install for a TPM when swtpm is missing', async (t) => {
    if (findExecutable('swtpm') !== undefined) return t.skip('swtpm is installed here');
    const vm = machine('with-tpm', { yaml: ['tpm: true'] });
    await assert.rejects(
      vm.powerOn(),
      (error: unknown) =>
        error instanceof UserError &&
        error.message === 'node with-tpm (tpm: true) needs swtpm, which is not installed: install the Debian package swtpm',
    );
    assert.equal(vm.power(), 'off');
  });
});
