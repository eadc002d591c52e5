/**
 * One VM node of a virtual DC, run with QEMU: the ManagedMachine the virtual
 * BMC drives.
 *
 *   const vm = new VirtualMachine({ node, dcName, runDir, dataDir, taps, images, accel,
 *                                   spawnPrefix: ['ip', 'netns', 'exec', 'yg-dc1'] });
 *   vm.onPowerChange(({ state, cause }) => …);
 *   await vm.powerOn();          // volumes first, then QEMU; resolves when QMP answers
 *   await vm.close();            // powers off
 *
 * Power model (deliberately not placemat's, whose VMs cannot be started again
 * after the guest powered off):
 * - on = a QEMU process exists. powerOn prepares the volumes (and the UEFI
 *   variable store, and swtpm) and starts QEMU.
 * - powerOff = QMP `quit`, SIGKILL when QEMU has not exited after a timeout.
 * - The guest powering itself off makes QEMU exit: the machine is off, and
 *   powerOn works again. Listeners hear of it (cause 'guest', or 'crash' when
 *   QEMU died).
 * - reset = QMP system_reset; on a machine that is off, powerOn. A boot
 *   override set since QEMU started cannot reach the running firmware, so
 *   such a reset restarts QEMU instead (the guest cannot tell the difference).
 * - cycle = powerOff + powerOn; shutdown = QMP system_powerdown (ACPI).
 * - A boot override applies at the next start; a once-override is cleared
 *   when that start succeeded (a reboot by the guest itself keeps the boot
 *   order QEMU started with).
 * Power operations run one at a time, in the order they were called.
 *
 * While QEMU runs, its PID is in NodePaths.pid (QEMU writes it; it is removed
 * when QEMU is gone), which the supervisor's crash cleanup reads.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import { pino, type Logger } from 'pino';
import { UserError } from '../../lib/errors.js';
import type { BootOverride, ManagedMachine, PowerState } from '../bmc/machine.js';
import type { DeviceClass, VmNode } from '../spec/index.js';
import { findExecutable, requireExecutable } from './executables.js';
import type { ImageSource } from './images.js';
import { QmpClient, type QmpEvent } from './qmp.js';
import { nodePaths, OVMF_CODE, OVMF_VARS_TEMPLATE, qemuArgs, type Accel, type NodePaths } from './qemu-args.js';
import { prepareVolumes } from './volumes.js';

export const DEFAULT_QEMU = '/usr/bin/qemu-system-x86_64';

export interface VirtualMachineOptions {
  node: VmNode;
  dcName: string;
  /** Where the node's sockets, console log and PID file go. */
  runDir: string;
  /** The DC's persistent data: volumes, UEFI variables, TPM state. */
  dataDir: string;
  /** One tap per interface, in order, already created where QEMU runs (see spawnPrefix). */
  taps: readonly string[];
  images: ImageSource;
  accel: Accel;
  deviceClasses?: readonly DeviceClass[];
  /** Runs QEMU through this, e.g. ['ip', 'netns', 'exec', 'yg-dc1'] so it opens taps in the DC's namespace. */
  spawnPrefix?: readonly string[];
  /** QEMU's environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** The QEMU binary (default /usr/bin/qemu-system-x86_64). */
  qemu?: string;
  /** How long QEMU may take to answer on QMP after it was started (default 60 s). */
  startTimeoutMs?: number;
  /** How long QEMU may take to exit after `quit` before it is killed (default 10 s). */
  quitTimeoutMs?: number;
}

/** Why the power state changed: a request (powerOn, powerOff, …), the guest powering off, or QEMU dying. */
export type PowerChangeCause = 'request' | 'guest' | 'crash';

export interface PowerChange {
  state: PowerState;
  cause: PowerChangeCause;
  /** For 'crash': how QEMU ended and the end of its stderr. */
  detail?: string;
}

/** A QEMU process of this machine and what hangs off it. */
interface Running {
  child: ChildProcess;
  /** QEMU's PID (from its PID file; the child's when a prefix forks). */
  pid: number | undefined;
  qmp?: QmpClient;
  guest?: Socket;
  swtpm?: ChildProcess;
  /** stdout and stderr together, the last 16 KiB. */
  output: string;
  spawnError?: Error;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** Resolves when QEMU is gone and everything that hung off it is released. */
  gone: Promise<void>;
  /** Set when we asked QEMU to go: its exit is then a requested power-off. */
  stopping: boolean;
  /** Listeners were told it is on (so they are told when it goes off). */
  announced: boolean;
}

export class VirtualMachine implements ManagedMachine {
  readonly name: string;
  readonly serial: string;
  readonly paths: NodePaths;
  private readonly log: Logger;
  private current: Running | undefined;
  private override: BootOverride | undefined;
  /** The override changed since QEMU started, so the running firmware does not know it. */
  private overridePending = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly powerListeners = new Set<(change: PowerChange) => void>();
  private readonly guestListeners = new Set<(line: string) => void>();

  constructor(private readonly options: VirtualMachineOptions) {
    this.name = options.node.name;
    this.serial = options.node.smbios.serial;
    this.paths = nodePaths(options.runDir, options.dataDir, options.node.name);
    this.log = (options.log ?? pino({ level: 'silent' })).child({ node: this.name });
  }

  /** The serial console's log: every boot's output, appended. */
  get consoleLog(): string {
    return this.paths.consoleLog;
  }

  /** The serial console's unix socket, for attachConsole(). */
  get consoleSocket(): string {
    return this.paths.console;
  }

  /** QEMU's PID while it runs. */
  get pid(): number | undefined {
    return this.current?.pid;
  }

  power(): PowerState {
    return this.current ? 'on' : 'off';
  }

  /** Calls the listener on every change between on and off; returns the function that stops it. */
  onPowerChange(listener: (change: PowerChange) => void): () => void {
    this.powerListeners.add(listener);
    return () => this.powerListeners.delete(listener);
  }

  /** Calls the listener with each line the guest writes to the `placemat` virtio-serial port (its BMC address). */
  onGuestLine(listener: (line: string) => void): () => void {
    this.guestListeners.add(listener);
    return () => this.guestListeners.delete(listener);
  }

  powerOn(): Promise<void> {
    return this.serialized(() => this.start());
  }

  powerOff(): Promise<void> {
    return this.serialized(() => this.stop());
  }

  shutdown(): Promise<void> {
    return this.serialized(async () => {
      await this.current?.qmp?.execute('system_powerdown');
    });
  }

  reset(): Promise<void> {
    return this.serialized(async () => {
      const running = this.current;
      if (!running) return this.start();
      if (this.overridePending) {
        this.log.info({ bootOverride: this.override }, 'reset with a new boot override: restarting QEMU');
        await this.stop();
        return this.start();
      }
      await running.qmp!.execute('system_reset');
    });
  }

  cycle(): Promise<void> {
    return this.serialized(async () => {
      await this.stop();
      await this.start();
    });
  }

  bootOverride(): BootOverride | undefined {
    return this.override && { ...this.override };
  }

  setBootOverride(override: BootOverride | undefined): void {
    this.override = override && { ...override };
    this.overridePending = this.current !== undefined;
  }

  /** Powers off and forgets the listeners. */
  async close(): Promise<void> {
    await this.powerOff();
    this.powerListeners.clear();
    this.guestListeners.clear();
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  // -------------------------------------------------------------------------
  // Starting

  private async start(): Promise<void> {
    if (this.current) return;
    const { node } = this.options;
    const qemu = this.qemuBinary();
    await mkdir(this.options.runDir, { recursive: true });
    const volumes = await prepareVolumes(node, {
      dataDir: this.options.dataDir,
      images: this.options.images,
      ...(this.options.deviceClasses ? { deviceClasses: this.options.deviceClasses } : {}),
    });
    if (node.uefi) await this.ensureNvram();
    const boot = this.override;
    const args = qemuArgs({
      node,
      dcName: this.options.dcName,
      accel: this.options.accel,
      taps: this.options.taps,
      volumes,
      paths: this.paths,
      ...(boot ? { boot } : {}),
    });
    const swtpm = node.tpm ? await this.startSwtpm() : undefined;
    const argv = [...(this.options.spawnPrefix ?? []), qemu, ...args];
    this.log.info({ argv }, 'starting QEMU');
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: this.options.env ?? process.env });
    const exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        running.spawnError = error;
        resolve();
      });
      child.once('close', (code, signal) => {
        running.exit = { code, signal };
        resolve();
      });
    });
    const running: Running = {
      child,
      pid: child.pid,
      output: '',
      gone: exited
        .then(() => this.exited(running))
        .catch((error: unknown) => this.log.error({ err: error }, 'cleanup after QEMU')),
      stopping: false,
      announced: false,
      ...(swtpm ? { swtpm } : {}),
    };
    const keep = (chunk: Buffer) => (running.output = (running.output + chunk.toString()).slice(-16384));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.current = running;
    this.overridePending = false;

    try {
      running.qmp = await this.connectQmp(running);
      running.pid = (await readPid(this.paths.pid)) ?? child.pid;
      running.qmp.onEvent((event) => this.qmpEvent(event));
      running.guest = this.readGuestPort();
    } catch (error) {
      running.stopping = true;
      this.kill(running);
      await running.gone;
      throw new UserError(`node ${this.name}: QEMU failed to start: ${(error as Error).message}${tail(running.output)}`);
    }
    if (boot?.once && this.override === boot) this.override = undefined;
    running.announced = true;
    this.log.info({ pid: running.pid }, 'QEMU is running');
    this.emitPower({ state: 'on', cause: 'request' });
  }

  private qemuBinary(): string {
    const qemu = this.options.qemu ?? DEFAULT_QEMU;
    const found = isAbsolute(qemu) ? (existsSync(qemu) ? qemu : undefined) : findExecutable(qemu);
    if (found === undefined)
      throw new UserError(`node ${this.name}: ${qemu} is not installed: install the Debian package qemu-system-x86`);
    return found;
  }

  /** Polls until QEMU answers on QMP; fails as soon as QEMU has exited. */
  private async connectQmp(running: Running): Promise<QmpClient> {
    const timeoutMs = this.options.startTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let lastError: Error | undefined;
    for (;;) {
      if (running.spawnError) throw new Error(`cannot run ${running.child.spawnfile}: ${running.spawnError.message}`);
      if (running.exit) throw new Error(`QEMU exited (${describeExit(running.exit)}) before it answered on QMP`);
      if (Date.now() > deadline)
        throw new Error(`QEMU did not answer on ${this.paths.qmp} within ${timeoutMs} ms (${lastError?.message ?? ''})`);
      if (existsSync(this.paths.qmp)) {
        try {
          return await QmpClient.connect(this.paths.qmp, { timeoutMs: 5000 });
        } catch (error) {
          lastError = error as Error;
        }
      }
      await Promise.race([sleep(100), running.gone]);
    }
  }

  /** Lines from the `placemat` port. QEMU serves it, so it is there once QMP answers. */
  private readGuestPort(): Socket {
    const socket = connect(this.paths.guest);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
        const line = buffer.slice(0, end).replace(/\r$/, '');
        buffer = buffer.slice(end + 1);
        this.log.info({ line }, 'guest line');
        for (const listener of this.guestListeners) this.call(() => listener(line));
      }
      if (buffer.length > 4096) buffer = buffer.slice(-4096); // a guest writing no newlines
    });
    socket.on('error', (error) => this.log.warn({ err: error }, 'guest port'));
    return socket;
  }

  private qmpEvent(event: QmpEvent): void {
    this.log.info({ event: event.event, data: event.data }, 'QMP event');
  }

  /** The node's own UEFI variable store, copied from OVMF's template once and kept (boot entries survive). */
  private async ensureNvram(): Promise<void> {
    const missing = [OVMF_CODE, OVMF_VARS_TEMPLATE].find((file) => !existsSync(file));
    if (missing !== undefined)
      throw new UserError(`node ${this.name} has uefi: true, but ${missing} is missing: install the Debian package ovmf`);
    if (existsSync(this.paths.nvram)) return;
    await mkdir(dirname(this.paths.nvram), { recursive: true });
    const temporary = `${this.paths.nvram}.tmp-${process.pid}`;
    await copyFile(OVMF_VARS_TEMPLATE, temporary);
    await rename(temporary, this.paths.nvram);
  }

  /** swtpm for this start; it exits by itself when QEMU disconnects (--terminate). Its state is kept in the data dir. */
  private async startSwtpm(): Promise<ChildProcess> {
    const swtpm = requireExecutable('swtpm', 'swtpm', `node ${this.name} (tpm: true)`);
    await mkdir(this.paths.tpmState, { recursive: true });
    await rm(this.paths.tpmSocket, { force: true });
    const child = spawn(
      swtpm,
      [
        'socket',
        '--tpm2',
        '--tpmstate',
        `dir=${this.paths.tpmState}`,
        '--ctrl',
        `type=unixio,path=${this.paths.tpmSocket}`,
        '--terminate',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: this.options.env ?? process.env },
    );
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
    const deadline = Date.now() + 10_000;
    while (!existsSync(this.paths.tpmSocket)) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        if (child.exitCode === null) child.kill('SIGKILL');
        throw new UserError(`node ${this.name}: swtpm did not start${tail(stderr)}`);
      }
      await sleep(50);
    }
    return child;
  }

  // -------------------------------------------------------------------------
  // Stopping

  private async stop(): Promise<void> {
    const running = this.current;
    if (!running) return;
    running.stopping = true;
    try {
      await running.qmp?.execute('quit', undefined, { timeoutMs: 5000 });
    } catch {
      // QEMU may close the connection before it replies; the exit below is what counts.
    }
    const quitTimeoutMs = this.options.quitTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      running.gone.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), quitTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.log.warn({ pid: running.pid }, `QEMU did not quit within ${quitTimeoutMs} ms: killing it`);
      this.kill(running);
    }
    await running.gone;
  }

  private kill(running: Running): void {
    for (const pid of new Set([running.pid, running.child.pid])) {
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** QEMU is gone, for whatever reason: release what hung off it and tell the listeners. */
  private async exited(running: Running): Promise<void> {
    if (this.current === running) this.current = undefined;
    running.qmp?.close();
    running.guest?.destroy();
    if (running.swtpm && running.swtpm.exitCode === null && running.swtpm.signalCode === null) running.swtpm.kill('SIGTERM');
    // QEMU removes its PID file when it exits cleanly; after SIGKILL it is left. Never remove another QEMU's.
    if (running.pid !== undefined && (await readPid(this.paths.pid)) === running.pid) await rm(this.paths.pid, { force: true });
    if (!running.announced) return;
    const exit = running.exit ? describeExit(running.exit) : `not started: ${running.spawnError?.message}`;
    if (running.stopping) {
      this.log.info({ exit }, 'QEMU stopped');
      this.emitPower({ state: 'off', cause: 'request' });
    } else if (running.exit?.code === 0) {
      this.log.info({ exit }, 'the guest powered off');
      this.emitPower({ state: 'off', cause: 'guest' });
    } else {
      this.log.error({ exit, output: running.output.slice(-2000) }, 'QEMU died');
      this.emitPower({ state: 'off', cause: 'crash', detail: `QEMU ${exit}${tail(running.output)}` });
    }
  }

  private emitPower(change: PowerChange): void {
    for (const listener of this.powerListeners) this.call(() => listener(change));
  }

  /** A listener's error is logged, never thrown into QEMU's event handling. */
  private call(listener: () => void): void {
    try {
      listener();
    } catch (error) {
      this.log.error({ err: error }, 'a listener failed');
    }
  }
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** The end of QEMU's output, for an error message. */
function tail(output: string): string {
  const text = output.trim();
  if (text === '') return '';
  const lines = text.split('\n').slice(-10).join('\n');
  return `\n${lines.length > 2000 ? lines.slice(-2000) : lines}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
