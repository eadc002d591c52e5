/** `yagura dc down`: stop a data center and remove everything it created (also after a crash). */
import { Command } from 'commander';
import { checkDcName } from '../../vdc/names.js';
import { down, pickDc } from '../../vdc/lifecycle.js';
import { requireRoot, rootsOf, type RootFlags } from './common.js';
import { readDcEnvironment } from './environment.js';

export function downVerb(): Command {
  return new Command('down')
    .description('stop a data center and remove its namespaces, links, processes and run files (works after a crash too)')
    .argument('[name]', 'the data center (default: the only one running)')
    .option('--purge', 'also delete its volumes and NVRAM (kept by default, as disks persist)')
    .action(async (name: string | undefined, flags: RootFlags & { purge?: boolean }) => {
      requireRoot();
      const dc = name ? checkDcName(name) : await pickDc(undefined, rootsOf(flags));
      const result = await down(dc, { ...rootsOf(flags), tools: readDcEnvironment().tools, purge: flags.purge ?? false });
      if (!result.existed) process.stderr.write(`data center "${dc}" is not running: nothing to remove\n`);
      else
        process.stderr.write(
          `data center "${dc}" removed: ${result.namespaces} namespaces, ${result.processes} processes${result.purged ? `; deleted ${result.purged}` : ''}\n`,
        );
    });
}
