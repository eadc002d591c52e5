/** `yagura dc <verb>`: build, inspect, drive and remove virtual data centers on this host. */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../lib/errors.js';
import { checkDcName, dcNameFromFile, dcNamespace, memberNamespace } from '../vdc/names.js';
import { describeNetem } from '../vdc/netem.js';
import { down, listDcs, pickDc, readTopology, status, up, type DcStatus, type Roots } from '../vdc/lifecycle.js';
import { renderGraph, type GraphFormat, type MachineStatus } from '../vdc/graph/index.js';
import { DEFAULT_DATA_ROOT, DEFAULT_RUN_ROOT, runPaths } from '../vdc/run-dir.js';
import { IP } from '../vdc/host/ip.js';
import { parseDelay, parsePercent, parseRate, type Parsed } from '../vdc/units.js';
import type { Netem, Topology } from '../vdc/spec/index.js';
import { type OutputFormat, outputOption, printJson, printTable } from './table.js';
import { changeNetem } from '../vdc/impairments.js';
import { askSupervisor } from '../vdc/supervisor/control.js';
import { forwardPort, runForwardAgent } from '../vdc/forward.js';

interface RootFlags {
  runRoot: string;
  dataRoot: string;
}

export function dcCommand(): Command {
  const group = new Command('dc')
    .description('virtual data centers on this host: networks, BGP routers, lightweight nodes and VMs with BMCs, from YAML')
    .addHelpText(
      'after',
      `
Examples:
  yagura dc up cluster.yml              build and start it (the name is the file's: "cluster")
  yagura dc status                      every running data center
  yagura dc exec rack0-tor1 -- birdc show protocols
  yagura dc power boot-0 cycle          through the node's virtual BMC
  yagura dc down cluster                remove everything, also after a crash

The topology format is docs/dc-yaml.md. Each data center lives in its own network
namespace (yg-NAME); nothing is added to the host's namespace. Needs root.`,
    );
  const verbs = [
    upVerb(),
    downVerb(),
    statusVerb(),
    powerVerb(),
    consoleVerb(),
    execVerb(),
    forwardVerb(),
    netemVerb(),
    graphVerb(),
  ];
  for (const verb of verbs) group.addCommand(withRoots(verb).exitOverride().showHelpAfterError('(run with --help for usage)'));
  // Internal: the processes `dc up` and `dc forward` start.
  for (const verb of [superviseVerb(), forwardAgentVerb()]) group.addCommand(verb.exitOverride(), { hidden: true });
  return group;
}

function withRoots(command: Command): Command {
  return command
    .addOption(
      new Option('--run-root <dir>', 'where running data centers keep their state, sockets and logs')
        .env('YAGURA_DC_RUN_ROOT')
        .default(DEFAULT_RUN_ROOT),
    )
    .addOption(
      new Option('--data-root <dir>', 'where data centers keep volumes and NVRAM between runs')
        .env('YAGURA_DC_DATA_ROOT')
        .default(DEFAULT_DATA_ROOT),
    );
}

function rootsOf(flags: RootFlags): Roots {
  return { runRoot: flags.runRoot, dataRoot: flags.dataRoot };
}

function dcOption(): Option {
  return new Option('--dc <name>', 'the data center (default: the only one running)');
}

/** The command that starts this CLI again (the supervisor and forward agents are this same program). */
function selfEntry(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]!];
}

function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new UserError('virtual data centers need root (network namespaces, bridges, taps): run with sudo');
}

function upVerb(): Command {
  return new Command('up')
    .description('build a data center from topology files and start every node and app')
    .argument('<files...>', 'topology YAML files (multi-document; merged in order)')
    .option('--name <name>', "the data center's name (default: from the first file's name)")
    .option('--foreground', 'stay in the foreground and remove the data center on Ctrl-C or SIGTERM')
    .addHelpText(
      'after',
      `
Running "up" again for a running data center is refused (say "down" first). If
the previous run crashed (e.g. was SIGKILLed), its leftovers are removed first.`,
    )
    .action(async (files: string[], flags: RootFlags & { name?: string; foreground?: boolean }) => {
      requireRoot();
      const dc = checkDcName(flags.name ?? dcNameFromFile(files[0]!));
      const started = Date.now();
      const progress = (message: string): void => {
        if (message !== '') process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
      };
      progress(`building data center "${dc}"`);
      const { paths, supervisorPid } = await up({ ...rootsOf(flags), files, dc, entry: selfEntry(), progress });
      progress(`data center "${dc}" is up: \`yagura dc status ${dc}\`, \`yagura dc down ${dc}\``);
      if (!flags.foreground) return;
      progress('staying in the foreground: Ctrl-C removes it');
      // The interval also keeps this process alive: signal handlers alone do not.
      let watch: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        watch = setInterval(() => {
          try {
            process.kill(supervisorPid, 0);
          } catch {
            progress(`the supervisor exited; see ${paths.supervisorLog}`);
            resolve();
          }
        }, 1000);
      });
      clearInterval(watch);
      progress(`removing data center "${dc}"`);
      await down(dc, rootsOf(flags));
      progress('removed');
    });
}

function downVerb(): Command {
  return new Command('down')
    .description('stop a data center and remove its namespaces, links, processes and run files (works after a crash too)')
    .argument('[name]', 'the data center (default: the only one running)')
    .option('--purge', 'also delete its volumes and NVRAM (kept by default, as disks persist)')
    .action(async (name: string | undefined, flags: RootFlags & { purge?: boolean }) => {
      requireRoot();
      const dc = name ? checkDcName(name) : await pickDc(undefined, rootsOf(flags));
      const result = await down(dc, { ...rootsOf(flags), purge: flags.purge ?? false });
      if (!result.existed) process.stderr.write(`data center "${dc}" is not running: nothing to remove\n`);
      else
        process.stderr.write(
          `data center "${dc}" removed: ${result.namespaces} namespaces, ${result.processes} processes${result.purged ? `; deleted ${result.purged}` : ''}\n`,
        );
    });
}

function statusVerb(): Command {
  return new Command('status')
    .description('show running data centers, or one in detail: nodes, power, addresses and apps')
    .argument('[name]', 'one data center (default: a summary of all)')
    .addOption(outputOption())
    .action(async (name: string | undefined, flags: RootFlags & { output: OutputFormat }) => {
      const roots = rootsOf(flags);
      if (name === undefined) {
        const all = (await Promise.all((await listDcs(roots)).map((dc) => status(dc, roots)))).filter((s): s is DcStatus => !!s);
        if (flags.output === 'json') return printJson(all.map(statusJson));
        if (all.length === 0) return void process.stderr.write('no data center is running\n');
        return printTable(
          ['NAME', 'PHASE', 'SINCE', 'ROUTERS', 'NODES', 'VMS', 'APPS', 'SUPERVISOR'],
          all.map((s) => [
            s.dc,
            s.phase,
            s.createdAt,
            String(s.topology.networkNamespaces.length),
            String(s.topology.nodes.filter((n) => n.type === 'netns').length),
            String(s.topology.nodes.filter((n) => n.type === 'vm').length),
            appSummary(s),
            s.supervisor.running ? `pid ${s.supervisor.pid}` : 'not running',
          ]),
        );
      }
      const one = await status(checkDcName(name), roots);
      if (!one) throw new UserError(`no data center named "${name}" is running`);
      if (flags.output === 'json') return printJson(statusJson(one));
      printDetail(one);
    });
}

function appSummary(s: DcStatus): string {
  if (!s.live) return 'unknown';
  const running = s.live.apps.filter((app) => app.state === 'running').length;
  const exited = s.live.apps.length - running;
  return `${running} running${exited > 0 ? `, ${exited} exited` : ''}`;
}

function statusJson(s: DcStatus): unknown {
  const members = memberRows(s);
  return { name: s.dc, phase: s.phase, since: s.createdAt, files: s.files, supervisor: s.supervisor, members };
}

interface MemberRow {
  name: string;
  kind: 'router' | 'netns' | 'vm';
  namespace?: string;
  power?: string;
  interfaces: { name: string; network: string; addresses: string[]; hostSide: string; netem?: string }[];
  apps: { name: string; state: string; pid?: number; exit?: number | string; log: string }[];
  bmc?: unknown;
  console?: string;
}

function memberRows(s: DcStatus): MemberRow[] {
  const interfacesOf = (member: string) =>
    s.plan.links
      .filter((link) => link.member === member)
      .map((link) => {
        const spec = [...s.topology.networkNamespaces, ...s.topology.nodes].find((m) => m.name === member)!;
        const netem = spec.interfaces.find(
          (i) => i.network === link.network && (link.interfaceName === `eth${i.index}` || link.interfaceName === `nic${i.index}`),
        )?.netem;
        return {
          name: link.interfaceName,
          network: link.network,
          addresses: link.addresses,
          hostSide: link.hostSide,
          ...(netem ? { netem: describeNetem(netem) } : {}),
        };
      });
  const appsOf = (member: string) =>
    (s.live?.apps ?? [])
      .filter((app) => app.member === member)
      .map(({ name, state, pid, exit, log }) => ({
        name,
        state,
        ...(pid ? { pid } : {}),
        ...(exit !== undefined ? { exit } : {}),
        log,
      }));
  const rows: MemberRow[] = [];
  for (const router of s.topology.networkNamespaces)
    rows.push({
      name: router.name,
      kind: 'router',
      namespace: memberNamespace(s.dc, router.name),
      interfaces: interfacesOf(router.name),
      apps: appsOf(router.name),
    });
  for (const node of s.topology.nodes) {
    if (node.type === 'netns')
      rows.push({
        name: node.name,
        kind: 'netns',
        namespace: memberNamespace(s.dc, node.name),
        interfaces: interfacesOf(node.name),
        apps: appsOf(node.name),
      });
    else {
      const machine = s.live?.machines.find((m) => m.name === node.name);
      rows.push({
        name: node.name,
        kind: 'vm',
        power: machine?.power ?? 'unknown',
        interfaces: interfacesOf(node.name),
        apps: [],
        ...(machine?.bmc ? { bmc: machine.bmc } : {}),
        ...(machine ? { console: machine.console } : {}),
      });
    }
  }
  return rows;
}

function printDetail(s: DcStatus): void {
  process.stdout.write(
    `data center ${s.dc}: ${s.phase} since ${s.createdAt}; namespace ${dcNamespace(s.dc)}; supervisor ${s.supervisor.running ? `pid ${s.supervisor.pid}` : 'NOT RUNNING (run `yagura dc down` to clean up)'}\n\n`,
  );
  printTable(
    ['NAME', 'KIND', 'STATE', 'INTERFACES', 'APPS'],
    memberRows(s).map((row) => [
      row.name,
      row.kind,
      row.kind === 'vm' ? (row.power ?? '') : row.apps.some((app) => app.state === 'exited') ? 'degraded' : 'up',
      row.interfaces
        .map(
          (i) => `${i.name}:${i.network}${i.addresses.length ? `=${i.addresses.join('+')}` : ''}${i.netem ? `(${i.netem})` : ''}`,
        )
        .join(' '),
      row.apps.map((app) => `${app.name}:${app.state === 'exited' ? `exited(${app.exit})` : app.state}`).join(' '),
    ]),
  );
}

function powerVerb(): Command {
  return new Command('power')
    .description("switch a VM node's power through its virtual BMC, or show it")
    .argument('<node>', 'a VM node')
    .argument('<action>', 'on, off (immediate), shutdown (ACPI), reset, cycle or status')
    .addOption(dcOption())
    .action(async (node: string, action: string, flags: RootFlags & { dc?: string }) => {
      const actions = ['on', 'off', 'shutdown', 'reset', 'cycle', 'status'] as const;
      if (!(actions as readonly string[]).includes(action))
        throw new UserError(`unknown power action "${action}": use one of ${actions.join(', ')}`, 2);
      const dc = await pickDc(flags.dc, rootsOf(flags));
      const result = await askSupervisor<{ power: string; via: string }>(runPaths(flags.runRoot, dc).control, {
        op: 'power',
        node,
        action: action as (typeof actions)[number],
      });
      process.stdout.write(`${node}: power ${result.power}${action === 'status' ? '' : ` (${action} through ${result.via})`}\n`);
    });
}

function execVerb(): Command {
  return new Command('exec')
    .description('run a command inside a router or netns node (its network namespace)')
    .argument('<node>', 'a NetworkNamespace or netns node')
    .argument('<command...>', 'the command and its arguments (put -- before it)')
    .addOption(dcOption())
    .action(async (node: string, command: string[], flags: RootFlags & { dc?: string }) => {
      const dc = await pickDc(flags.dc, rootsOf(flags));
      const s = await status(dc, rootsOf(flags));
      if (!s) throw new UserError(`no data center named "${dc}" is running`);
      if (s.topology.nodes.some((n) => n.name === node && n.type === 'vm'))
        throw new UserError(`${node} is a VM: it has no namespace to enter; use \`yagura dc console ${node}\``);
      if (!s.plan.members.some((m) => m.member === node))
        throw new UserError(`no router or netns node "${node}" in data center "${dc}"`);
      const child = spawn(IP, ['netns', 'exec', memberNamespace(dc, node), ...command], { stdio: 'inherit' });
      const code = await new Promise<number>((resolve) => {
        child.once('error', (error) => {
          process.stderr.write(`yagura: ${error.message}\n`);
          resolve(1);
        });
        child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
      });
      process.exitCode = code;
    });
}

function forwardVerb(): Command {
  return new Command('forward')
    .description('forward a loopback port of the host to a port of a node (until Ctrl-C)')
    .argument('<local-port>', 'TCP port on 127.0.0.1', port)
    .argument('<target>', 'NODE:PORT (a router or netns node, its own loopback) or ADDRESS:PORT (reached from the DC namespace)')
    .addOption(dcOption())
    .action(async (localPort: number, target: string, flags: RootFlags & { dc?: string }) => {
      const dc = await pickDc(flags.dc, rootsOf(flags));
      await forwardPort({
        dc,
        roots: rootsOf(flags),
        localPort,
        target,
        entry: selfEntry(),
        log: (line) => process.stderr.write(`${line}\n`),
      });
    });
}

function forwardAgentVerb(): Command {
  return new Command('forward-agent')
    .description('(internal) the namespace side of `dc forward`')
    .argument('<socket>')
    .argument('<host>')
    .argument('<port>', 'port', port)
    .action(async (socket: string, host: string, targetPort: number) => {
      await runForwardAgent(socket, host, targetPort);
    });
}

function superviseVerb(): Command {
  return new Command('supervise')
    .description("(internal) the DC's supervisor, started by `dc up` inside the DC's namespace")
    .argument('<run-dir>')
    .action(async (runDir: string) => {
      const { runSupervisor } = await import('../vdc/supervisor/supervisor.js');
      await runSupervisor(runDir);
    });
}

function netemVerb(): Command {
  return new Command('netem')
    .description("impair a node's interface at runtime (tc netem), or clear it")
    .argument('<node>')
    .argument('<interface>', 'ethN of a router or netns node; ethN or nicN of a VM (applies to traffic towards the VM)')
    .option('--delay <duration>', 'added delay, e.g. 10ms', unit(parseDelay))
    .option('--jitter <duration>', 'delay variation, e.g. 2ms', unit(parseDelay))
    .option('--loss <percent>', 'random loss, e.g. 1%', unit(parsePercent))
    .option('--rate <rate>', 'rate limit, e.g. 100mbit', unit(parseRate))
    .option('--clear', 'remove every impairment on the interface')
    .addOption(dcOption())
    .action(
      async (
        node: string,
        iface: string,
        flags: RootFlags & { dc?: string; delay?: number; jitter?: number; loss?: number; rate?: number; clear?: boolean },
      ) => {
        const netem: Netem = {
          ...(flags.delay !== undefined ? { delayUs: flags.delay } : {}),
          ...(flags.jitter !== undefined ? { jitterUs: flags.jitter } : {}),
          ...(flags.loss !== undefined ? { lossPercent: flags.loss } : {}),
          ...(flags.rate !== undefined ? { rateBitsPerSecond: flags.rate } : {}),
        };
        const empty = Object.keys(netem).length === 0;
        if (flags.clear && !empty) throw new UserError('--clear cannot be combined with --delay, --jitter, --loss or --rate', 2);
        if (!flags.clear && empty) throw new UserError('say what to change: --delay, --jitter, --loss, --rate, or --clear', 2);
        const dc = await pickDc(flags.dc, rootsOf(flags));
        const where = await changeNetem(dc, rootsOf(flags), node, iface, flags.clear ? 'clear' : netem);
        process.stdout.write(`${node} ${iface}: ${flags.clear ? 'impairments cleared' : describeNetem(netem)} (${where})\n`);
      },
    );
}

function consoleVerb(): Command {
  return new Command('console')
    .description("attach to a VM node's serial console (Ctrl-] detaches); the whole output is also in its console log")
    .argument('<node>', 'a VM node')
    .addOption(dcOption())
    .action(async (node: string, flags: RootFlags & { dc?: string }) => {
      const dc = await pickDc(flags.dc, rootsOf(flags));
      const s = await status(dc, rootsOf(flags));
      const machine = s?.live?.machines.find((m) => m.name === node);
      if (!machine) throw new UserError(`no running VM node "${node}" in data center "${dc}"`);
      if (machine.power !== 'on')
        throw new UserError(
          `${node} is powered off: \`yagura dc power ${node} on\` first (its past output is in ${machine.consoleLog})`,
        );
      const { attachConsole } = await import('../vdc/host/console.js');
      process.stderr.write(`connected to ${node}'s console; Ctrl-] detaches\n`);
      const reason = await attachConsole(machine.console, process.stdin, process.stdout);
      process.stderr.write(reason === 'detached' ? '\ndetached\n' : `\n${node}'s console closed (powered off?)\n`);
    });
}

function graphVerb(): Command {
  return new Command('graph')
    .description('draw the topology of a running data center or of topology files: Mermaid, Graphviz dot, or an HTML page')
    .argument('[files...]', 'topology files (default: the running data center, with power and app states)')
    .addOption(new Option('-f, --format <format>', 'mermaid, dot or html').choices(['mermaid', 'dot', 'html']).default('html'))
    .option('--out <file>', 'write here (default: mermaid and dot to stdout, html to ./<name>-topology.html)')
    .option('--no-open', 'do not open the HTML page in a browser')
    .addOption(dcOption())
    .action(async (files: string[], flags: RootFlags & { dc?: string; format: GraphFormat; out?: string; open: boolean }) => {
      let topology: Topology;
      let title: string;
      let name: string;
      const statusMap = new Map<string, MachineStatus>();
      if (files.length > 0) {
        topology = await readTopology(files);
        title = files.join(', ');
        name = dcNameFromFile(files[0]!);
      } else {
        name = await pickDc(flags.dc, rootsOf(flags));
        const s = await status(name, rootsOf(flags));
        if (!s) throw new UserError(`no data center named "${name}" is running`);
        topology = s.topology;
        title = `data center ${name}`;
        for (const app of s.live?.apps ?? []) {
          const entry = statusMap.get(app.member) ?? { apps: [] };
          entry.apps!.push({ name: app.name, running: app.state !== 'exited' });
          statusMap.set(app.member, entry);
        }
        for (const machine of s.live?.machines ?? []) statusMap.set(machine.name, { power: machine.power });
      }
      const text = renderGraph(topology, flags.format, { title, status: statusMap });
      const out = flags.out ?? (flags.format === 'html' ? `${name}-topology.html` : undefined);
      if (out === undefined) return void process.stdout.write(text);
      await writeFile(out, text);
      process.stderr.write(`wrote ${out}\n`);
      if (flags.format === 'html' && flags.open) openInBrowser(resolve(out));
    });
}

/** Opens a file in the desktop's browser when there is a desktop; otherwise says where the file is. */
function openInBrowser(path: string): void {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    process.stderr.write(`no desktop session here: open file://${path} in a browser\n`);
    return;
  }
  const child = spawn('xdg-open', [path], { stdio: 'ignore', detached: true });
  child.once('error', () => process.stderr.write(`could not run xdg-open: open file://${path} in a browser\n`));
  child.unref();
}

function port(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 65535) throw new InvalidArgumentError('must be a port number, 1–65535');
  return value;
}

function unit(parse: (text: string) => Parsed<number>): (text: string) => number {
  return (text) => {
    const parsed = parse(text);
    if ('problem' in parsed) throw new InvalidArgumentError(parsed.problem);
    return parsed.value;
  };
}
