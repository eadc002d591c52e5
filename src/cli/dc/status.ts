/** `yagura dc status`: every running data center in a table, or one in detail (members, interfaces, apps, power). */
import { Command } from 'commander';
import { UserError } from '../../lib/errors.js';
import { checkDcName, dcNamespace, memberNamespace } from '../../vdc/names.js';
import { describeNetem } from '../../vdc/netem.js';
import { listDcs, status, type DcStatus } from '../../vdc/lifecycle.js';
import { type OutputFormat, outputOption, printJson, printTable } from '../table.js';
import { rootsOf, type RootFlags } from './common.js';

export function statusVerb(): Command {
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
