/** `yagura dc apply`: add what topology files have and a running data center has not, without disturbing what runs. */
import { Command } from 'commander';
import { apply } from '../../vdc/grow.js';
import { checkDcName, dcNameFromFile } from '../../vdc/names.js';
import { requireRoot, rootsOf, type RootFlags } from './common.js';
import { readDcEnvironment } from './environment.js';

export function applyVerb(): Command {
  return new Command('apply')
    .description('add new networks, nodes, links, apps and VMs from topology files to a running data center')
    .argument('<files...>', 'the whole topology, as for `dc up` (multi-document YAML files, merged in order)')
    .option('--name <name>', "the running data center (default: from the first file's name)")
    .addHelpText(
      'after',
      `
Only additions are applied, live: new networks, routers, netns nodes and VMs,
new interfaces at the end of an existing router's or netns node's list (with
their addresses), and new apps. Nothing that runs is stopped, renamed or
readdressed, and traffic between existing nodes flows on. The files must hold
the whole topology: a network, node or interface that changed or is missing is
refused, naming it, and nothing is changed (\`dc down\` and \`dc up\` rebuild).
Applying the same files again has nothing to do.

Apps that run are not restarted or reloaded: an app whose command changed in the
files keeps running as it was started (apply lists it), and an app's own config
files are not re-read. A spine whose BIRD config gained neighbours for a new
rack must be told, with the config's absolute path (BIRD does not find the
relative one it was started with):
  sudo yagura dc exec spine1 -- birdc -s RUN_DIR/bird-spine1.ctl configure '"/abs/site/bird/spine1.conf"'
(RUN_DIR is /run/yagura/dc/NAME unless --run-root says otherwise).

Growing a generated site by a rack:
  yagura dc generate site.yml -o site          # racks: N+1 in site.yml
  sudo yagura dc apply site/dc.yml --name SITE`,
    )
    .action(async (files: string[], flags: RootFlags & { name?: string }) => {
      requireRoot();
      const { tools } = readDcEnvironment();
      const dc = checkDcName(flags.name ?? dcNameFromFile(files[0]!));
      const started = Date.now();
      const progress = (message: string): void => {
        if (message !== '') process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
      };
      progress(`applying ${files.join(' ')} to data center "${dc}"`);
      const { growth } = await apply({ ...rootsOf(flags), files, dc, tools, progress });
      for (const { member, app } of growth.unchangedApps)
        progress(`${member}: app ${app} keeps running with its old command (apps are not restarted)`);
      if (growth.nothingToDo) {
        progress(`nothing to do: data center "${dc}" already has everything in these files`);
        return;
      }
      const added = [
        list('network', growth.networks),
        list('namespace', growth.members),
        list('VM', growth.vms),
        list(
          'interface',
          growth.links.map((link) => `${link.member}/${link.interfaceName}`),
        ),
        list(
          'app',
          growth.apps.map(({ member, app }) => `${member}/${app}`),
        ),
      ].filter((text) => text !== '');
      progress(`data center "${dc}" grew: ${added.join('; ')}`);
    });
}

function list(noun: string, names: readonly string[]): string {
  if (names.length === 0) return '';
  return `${names.length} ${noun}${names.length === 1 ? '' : 's'} (${names.join(', ')})`;
}
