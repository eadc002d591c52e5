/**
 * The bring-up steps of dctest, each as a user would do it: build the node OS
 * image, wait for the boot servers' API, load IPAM, machines, templates, the
 * image and kernel parameters with the yagura CLI, power the VM servers on
 * through their BMCs (IPMI with ipmitool, Redfish through `dc power`), then
 * wait for every server to netboot or join and every BGP session to be
 * Established. Each returns the detail its phase prints.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { count } from '../lib/plural.js';
import type { MachinePlan, SitePlan } from '../fabric/index.js';
import { nodePaths } from '../vdc/host/qemu-args.js';
import type { RunPaths } from '../vdc/run-dir.js';
import { DEFAULT_BMC_CREDENTIALS } from '../vdc/spec/types.js';
import { askSupervisor } from '../vdc/supervisor/control.js';
import type { DctestPlan } from './plan.js';
import { inMember, ok, waitFor, yaguraIn, type Probe } from './probe.js';
import { bgpProtocols, NODE_OS_FAILED, NODE_OS_READY } from './readings.js';

const execFileAsync = promisify(execFile);

export interface RunContext {
  probe: Probe;
  site: SitePlan;
  plan: DctestPlan;
  /** The generated site (dc generate's output). */
  dir: string;
  /** The DC's run dir: BIRD sockets, VM console logs, the supervisor's control socket. */
  paths: RunPaths;
  /** The boot server whose namespace the yagura CLI runs in. */
  core: MachinePlan;
  /** When the whole run must have finished. */
  deadline: number;
  progress: (message: string) => void;
}

export interface NodeOsImage {
  vmlinuz: string;
  initrd: string;
}

export const BUILD_NODE_OS = fileURLToPath(new URL('../../images/build-node-os.sh', import.meta.url));
/** The kernel parameters of the node OS: its console is the VM's serial port. */
export const NODE_OS_KERNEL_PARAMS = ['console=ttyS0'];

/** images/build-node-os.sh: quick when its cache is current (docs/node-os.md). */
export function buildNodeOs(): Promise<NodeOsImage> {
  return runImageBuild(BUILD_NODE_OS);
}

/**
 * Runs an image build script (images/build-*.sh), which serializes parallel
 * builds itself and prints the kernel's and the initrd's paths; its stderr's
 * tail goes into the error when it fails.
 */
export async function runImageBuild(script: string): Promise<NodeOsImage> {
  try {
    const { stdout } = await execFileAsync('bash', [script], { timeout: 15 * 60_000, maxBuffer: 1 << 20 });
    const [vmlinuz, initrd] = stdout.trim().split('\n');
    if (!vmlinuz || !existsSync(vmlinuz) || !initrd || !existsSync(initrd))
      throw new Error(`it printed no existing kernel and initrd paths: ${stdout}`);
    return { vmlinuz, initrd };
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${script} failed: ${(error as Error).message}\n${stderr.slice(-2000)}`, { cause: error });
  }
}

/** Every netns boot server answers the API with its store: `yagura machines get` works there. */
export async function waitForBootServers(ctx: RunContext): Promise<string> {
  const boots = ctx.site.machines.filter((machine) => machine.boot && machine.kind === 'netns');
  await Promise.all(
    boots.map((boot) => {
      let last = '';
      return waitFor(
        `${boot.name}'s API`,
        ctx.deadline,
        async () => {
          const result = await inMember(ctx.probe, boot.name, [...ctx.probe.yagura, 'machines', 'get', '-o', 'json'], 20_000);
          last = (result.stderr || result.stdout).trim().split('\n').slice(-1)[0] ?? '';
          return result.code === 0 ? true : undefined;
        },
        () => `last: ${last}`,
      );
    }),
  );
  return `${count(boots.length, 'boot server')} answer (${boots.map((boot) => boot.name).join(', ')})`;
}

/** Loads the site into the boot servers through the CLI, as docs/site-spec.md tells a user to. */
export async function load(ctx: RunContext, image: NodeOsImage | undefined): Promise<string> {
  const run = (args: string[]) => yaguraIn(ctx.probe, ctx.core.name, args);
  await run(['ipam', 'set', '-f', join(ctx.dir, 'ipam.json')]);
  await run(['machines', 'create', '-f', join(ctx.dir, 'machines.json')]);
  const roles = (await readdir(join(ctx.dir, 'ignitions')))
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -5));
  for (const role of roles.sort())
    await run(['ignitions', 'set', role, '1.0.0', '-f', join(ctx.dir, 'ignitions', `${role}.json`)]);
  const loaded = [`IPAM, ${ctx.site.machines.length} machines, templates ${roles.join(' ')}`];
  if (image) {
    const id = await imageId(image);
    await run(['images', 'upload', id, '--kernel', image.vmlinuz, '--initrd', image.initrd]);
    await run(['kernel-params', 'set', ...NODE_OS_KERNEL_PARAMS]);
    loaded.push(`image ${id}`, `kernel params ${NODE_OS_KERNEL_PARAMS.join(' ')}`);
  }
  return loaded.join(', ');
}

/** The image ID: the node OS's content, so a changed image is a new ID (IDs are immutable). */
async function imageId(image: NodeOsImage): Promise<string> {
  const hash = createHash('sha256');
  for (const file of [image.vmlinuz, image.initrd])
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `node-os-${hash.digest('hex').slice(0, 12)}`;
}

/**
 * Powers the VM servers on through their BMCs, as an operator would: every
 * other one with ipmitool over IPMI (RMCP+) from the DC's namespace, where
 * the BMC network is, the others with `dc power` (Redfish over HTTPS).
 */
export async function powerOn(ctx: RunContext, vms: readonly MachinePlan[]): Promise<string> {
  const via = await Promise.all(
    vms.map(async (vm, i) => {
      if (i % 2 === 0) {
        ok(
          await inMember(ctx.probe, undefined, [
            'ipmitool',
            '-I',
            'lanplus',
            '-H',
            vm.bmc,
            '-U',
            DEFAULT_BMC_CREDENTIALS.username,
            '-P',
            DEFAULT_BMC_CREDENTIALS.password,
            'chassis',
            'power',
            'on',
          ]),
          `ipmitool chassis power on for ${vm.name}`,
        );
        return `${vm.name} (IPMI)`;
      }
      await askSupervisor(ctx.paths.control, { op: 'power', node: vm.name, action: 'on' });
      return `${vm.name} (Redfish)`;
    }),
  );
  return via.length === 0 ? 'no VM servers' : via.join(', ');
}

/**
 * Every VM server has netbooted the node OS (its console says ready) and every
 * netns server has joined (node0 on lo). Returns each VM's time from power-on.
 */
export async function waitForNetboot(
  ctx: RunContext,
  vms: readonly MachinePlan[],
  joiners: readonly MachinePlan[],
  poweredAt: number,
): Promise<string> {
  const times = new Map<string, number>();
  const failures = new Map<string, string>();
  const pending = new Set([...vms, ...joiners].map((machine) => machine.name));
  await waitFor(
    'netboot',
    ctx.deadline,
    async () => {
      await Promise.all(
        vms
          .filter((vm) => pending.has(vm.name))
          .map(async (vm) => {
            const log = await readFile(nodePaths(ctx.paths.vms, '', vm.name).consoleLog, 'utf8').catch(() => '');
            const failed = NODE_OS_FAILED.exec(log);
            if (failed) failures.set(vm.name, failed[0]);
            const ready = NODE_OS_READY.exec(log);
            if (ready && ready[1] === vm.serial) {
              pending.delete(vm.name);
              times.set(vm.name, Date.now() - poweredAt);
            }
          }),
      );
      await Promise.all(
        joiners
          .filter((node) => pending.has(node.name))
          .map(async (node) => {
            const result = await inMember(ctx.probe, node.name, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'lo'], 10_000);
            if (result.stdout.includes(` ${node.node0}/32 `)) pending.delete(node.name);
          }),
      );
      return pending.size === 0 ? true : undefined;
    },
    () => `not yet: ${[...pending].join(', ')}${[...failures].map(([name, line]) => `\n  ${name}: ${line}`).join('')}`,
    500,
  );
  const vmTimes = [...times].map(([name, ms]) => `${name} ${(ms / 1000).toFixed(0)} s`);
  return [
    `${count(vms.length, 'VM')} netbooted${vmTimes.length > 0 ? ` (${vmTimes.join(', ')})` : ''}`,
    `${count(joiners.length, 'netns server')} joined`,
  ].join(', ');
}

/** The BGP protocols of `member`'s BIRD. */
export async function protocolsOf(ctx: RunContext, member: string) {
  const result = await inMember(
    ctx.probe,
    member,
    ['birdc', '-s', join(ctx.paths.runDir, `bird-${member}.ctl`), 'show', 'protocols'],
    10_000,
  );
  return bgpProtocols(result.stdout);
}

/** Every BGP session of every BIRD in the DC's namespaces is Established (VM servers' are seen from their ToRs). */
export async function waitForBgp(ctx: RunContext, members: readonly string[]): Promise<string> {
  let waiting: string[] = [];
  const sessions = await waitFor(
    'BGP',
    ctx.deadline,
    async () => {
      waiting = [];
      let established = 0;
      await Promise.all(
        members.map(async (member) => {
          const protocols = (await protocolsOf(ctx, member)).filter((p) => !ctx.plan.silentSessions.has(p.name));
          if (protocols.length === 0) waiting.push(`${member}: no BGP protocols (BIRD not answering)`);
          for (const protocol of protocols)
            if (protocol.bgp === 'Established') established++;
            else waiting.push(`${member} ${protocol.name} ${protocol.bgp}`);
        }),
      );
      return waiting.length === 0 ? established : undefined;
    },
    () => `not Established: ${waiting.slice(0, 12).join(', ')}${waiting.length > 12 ? `, … (${waiting.length})` : ''}`,
    500,
  );
  return `${sessions} sessions Established on ${members.length} BIRDs`;
}
