/**
 * Real QEMU VMs for tests (Debian's qemu-system-x86 with SeaBIOS and the iPXE
 * option ROMs of ipxe-qemu). A VM runs under TCG unless the host really can do
 * KVM, optionally inside a test network namespace (so it can open the tap
 * there), with its serial console written to a log file that tests poll.
 * stop() kills it by PID and removes its temp dir; the cleanup registry of
 * netns.ts kills it at process exit if a test dies first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IP, type NetNs, registerCleanup } from './netns.js';
import { tempDir } from './temp.js';
import { detectAccel } from '../../src/vdc/host/accel.js';
import { type Accel, OVMF_CODE, OVMF_NO_PXE, OVMF_VARS_TEMPLATE } from '../../src/vdc/host/qemu-args.js';

export const QEMU = process.env.YAGURA_TEST_QEMU ?? '/usr/bin/qemu-system-x86_64';
/** Legacy-BIOS iPXE ROM for QEMU's e1000 (ipxe-qemu); the machine boots it with -boot n. */
export const IPXE_E1000_ROM = '/usr/lib/ipxe/qemu/pxe-e1000.rom';

export interface QemuOptions {
  /** Start QEMU inside this namespace (needed for a tap NIC there). */
  netns?: NetNs;
  /** Guest memory, e.g. '256M' (the default). */
  memory?: string;
  /** SMBIOS type 1 serial number, as a BMC would report it (product_serial in the guest). */
  serial?: string;
  /** Direct boot: -kernel/-initrd/-append. */
  kernel?: { kernel: string; initrd: string; append: string };
  /** One e1000 NIC on an existing tap (with its iPXE ROM); netboot: true adds -boot n. */
  nic?: { tap: string; mac?: string; romfile?: string };
  /**
   * Boot firmware and NIC as `yagura dc` gives a VM node (src/vdc/host/qemu-args.ts):
   * 'uefi' is OVMF with a fresh copy of its variable store, the product's
   * knobs that leave out PXE (OVMF_NO_PXE), and a virtio-net NIC without an
   * option ROM (OVMF's own HTTP Boot); 'bios' is SeaBIOS with a virtio-net NIC
   * and QEMU's default iPXE ROM for it (ipxe-qemu). Unset: SeaBIOS and `nic` as e1000.
   */
  firmware?: 'uefi' | 'bios';
  netboot?: boolean;
  /** Also open a QMP socket (its path is Qemu.qmpSocket). */
  qmp?: boolean;
  /** A label for the temp dir and error messages. */
  name?: string;
  extraArgs?: string[];
}

/** 'kvm' only when the host really can (the same decision `yagura dc` makes); YAGURA_QEMU_ACCEL overrides. */
/** The accelerator yagura dc would use (YAGURA_QEMU_ACCEL forces one, as it does for yagura dc). */
export const qemuAccel = () => detectAccel(process.env.YAGURA_QEMU_ACCEL as Accel | undefined);

/** What is missing for QEMU netboot tests, as Debian package names (empty when all is there). */
export function missingQemuPackages(): string[] {
  const missing: string[] = [];
  if (!existsSync(QEMU)) missing.push('qemu-system-x86');
  if (!existsSync(IPXE_E1000_ROM)) missing.push('ipxe-qemu');
  return missing;
}

export class Qemu {
  readonly child: ChildProcess;
  readonly consoleLog: string;
  readonly qmpSocket: string | undefined;
  readonly command: string[];
  readonly startedAt = Date.now();
  private stderr = '';
  private readonly dir: { path: string; remove: () => void };
  private readonly unregister: () => void;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(options: QemuOptions) {
    const name = options.name ?? 'vm';
    if (missingQemuPackages().length > 0) {
      throw new Error(
        `QEMU tests need the Debian packages ${missingQemuPackages().join(' ')} (run: bash scripts/host-packages.sh)`,
      );
    }
    this.dir = tempDir(`qemu-${name}`);
    this.consoleLog = join(this.dir.path, 'console.log');
    this.qmpSocket = options.qmp ? join(this.dir.path, 'qmp.sock') : undefined;
    let firmware: string[] = [];
    if (options.firmware === 'uefi') {
      for (const file of [OVMF_CODE, OVMF_VARS_TEMPLATE])
        if (!existsSync(file)) throw new Error(`UEFI QEMU tests need ${file} (the Debian package ovmf)`);
      const vars = join(this.dir.path, 'OVMF_VARS.fd');
      copyFileSync(OVMF_VARS_TEMPLATE, vars);
      firmware = [
        ...['-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`],
        ...['-drive', `if=pflash,format=raw,unit=1,file=${vars}`],
        ...OVMF_NO_PXE,
      ];
    }
    this.command = [QEMU, ...qemuArgs(options, this.consoleLog, this.qmpSocket), ...firmware];
    const argv = options.netns ? [IP, 'netns', 'exec', options.netns.name, ...this.command] : this.command;
    // `ip netns exec` execs QEMU in place: the child's PID is QEMU's.
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-16384)));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-16384)));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child.once('error', (error) => (this.stderr += `\nspawn failed: ${error.message}`));
    const dir = this.dir;
    const child = this.child;
    this.unregister = registerCleanup(() => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      dir.remove();
    });
  }

  static start(options: QemuOptions = {}): Qemu {
    return new Qemu(options);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The serial console so far. */
  console(): string {
    try {
      return readFileSync(this.consoleLog, 'latin1');
    } catch {
      return '';
    }
  }

  /** Polls the console log until it matches; fails early (with the console) when QEMU exits first. */
  async waitForConsole(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const match = this.console().match(pattern);
      if (match) return match;
      if (!this.running)
        throw new Error(`QEMU exited (${this.exitDescription()}) before the console matched ${pattern}${this.diagnostics()}`);
      if (Date.now() > deadline)
        throw new Error(`the console did not match ${pattern} within ${timeoutMs} ms${this.diagnostics()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits for QEMU to exit by itself (e.g. the guest powered off); rejects on timeout without killing it. */
  async waitForExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`QEMU did not exit within ${timeoutMs} ms${this.diagnostics()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills QEMU by PID (SIGTERM, then SIGKILL), waits for it, and removes its temp dir. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.running && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          if (this.child.pid !== undefined && this.running) process.kill(this.child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 3000);
      await this.exited;
      clearTimeout(timer);
    }
    this.dir.remove();
    this.unregister();
  }

  /** The console tail and QEMU's own output, for error messages. */
  diagnostics(): string {
    // SeaBIOS and iPXE draw with terminal escapes and backspaces; strip them so the tail reads as text.
    const tail = this.console()
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r|\x08/g, '')
      .slice(-3000);
    return `\n--- qemu: ${this.command.join(' ')}\n--- qemu stderr:\n${this.stderr.trim()}\n--- console tail:\n${tail}`;
  }

  private exitDescription(): string {
    return this.child.signalCode ?? `code ${this.child.exitCode}`;
  }
}

function qemuArgs(options: QemuOptions, consoleLog: string, qmpSocket: string | undefined): string[] {
  const accel = qemuAccel();
  const args = [
    '-accel',
    accel,
    '-machine',
    // graphics=off: SeaBIOS and iPXE write to the serial console too, so their messages land in the log.
    'pc,graphics=off',
    ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m',
    options.memory ?? '256M',
    '-smp',
    '1',
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-serial',
    `file:${consoleLog}`,
  ];
  if (options.serial !== undefined) args.push('-smbios', `type=1,serial=${options.serial}`);
  if (qmpSocket) args.push('-qmp', `unix:${qmpSocket},server=on,wait=off`);
  if (options.kernel)
    args.push('-kernel', options.kernel.kernel, '-initrd', options.kernel.initrd, '-append', options.kernel.append);
  if (options.nic) {
    const mac = options.nic.mac ?? '52:54:00:00:00:01';
    const device =
      options.firmware === 'uefi'
        ? `virtio-net-pci,netdev=net0,mac=${mac},romfile=`
        : options.firmware === 'bios'
          ? `virtio-net-pci,netdev=net0,mac=${mac}`
          : `e1000,netdev=net0,mac=${mac},romfile=${options.nic.romfile ?? IPXE_E1000_ROM}`;
    args.push('-netdev', `tap,id=net0,ifname=${options.nic.tap},script=no,downscript=no`, '-device', device);
  }
  if (options.netboot) args.push('-boot', 'n');
  args.push(...(options.extraArgs ?? []));
  return args;
}
