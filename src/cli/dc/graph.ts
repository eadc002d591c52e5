/** `yagura dc graph`: draw a running data center or topology files as Mermaid, Graphviz dot or an HTML page. */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { UserError } from '../../lib/errors.js';
import { dcNameFromFile } from '../../vdc/names.js';
import { pickDc, readTopology, status } from '../../vdc/lifecycle.js';
import { renderGraph, type GraphFormat, type MachineStatus } from '../../vdc/graph/index.js';
import type { Topology } from '../../vdc/spec/index.js';
import { dcOption, rootsOf, type RootFlags } from './common.js';

export function graphVerb(): Command {
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
