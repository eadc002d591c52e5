/** `yagura dc up`: build a data center from topology files and start it; with --foreground, remove it on Ctrl-C. */
import { Command } from 'commander';
import { checkDcName, dcNameFromFile } from '../../vdc/names.js';
import { down, up } from '../../vdc/lifecycle.js';
import { requireRoot, rootsOf, selfEntry, type RootFlags } from './common.js';
import { readDcEnvironment } from './environment.js';

export function upVerb(): Command {
  return new Command('up')
    .description('build a data center from topology files and start every node and app')
    .argument('<files...>', 'topology YAML files (multi-document; merged in order)')
    .option('--name <name>', "the data center's name (default: from the first file's name)")
    .option('--foreground', 'stay in the foreground and remove the data center on Ctrl-C or SIGTERM')
    .option('--vms-off', 'leave the VMs powered off: power them on through their BMCs (as YAGURA_DC_VMS_POWER=off)')
    .addHelpText(
      'after',
      `
Running "up" again for a running data center is refused (say "down" first). If
the previous run crashed (e.g. was SIGKILLed), its leftovers are removed first.`,
    )
    .action(async (files: string[], flags: RootFlags & { name?: string; foreground?: boolean; vmsOff?: boolean }) => {
      requireRoot();
      const { tools, uplinkNamespace } = readDcEnvironment();
      const dc = checkDcName(flags.name ?? dcNameFromFile(files[0]!));
      const started = Date.now();
      const progress = (message: string): void => {
        if (message !== '') process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
      };
      progress(`building data center "${dc}"`);
      const { paths, supervisorPid } = await up({
        ...rootsOf(flags),
        files,
        dc,
        entry: selfEntry(),
        tools,
        ...(uplinkNamespace ? { uplinkNamespace } : {}),
        progress,
        vmsOff: flags.vmsOff === true,
      });
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
      await down(dc, { ...rootsOf(flags), tools });
      progress('removed');
    });
}
