/** `yagura dc console`: attach the terminal to a VM node's serial console. */
import { Command } from 'commander';
import { UserError } from '../../lib/errors.js';
import { pickDc, status } from '../../vdc/lifecycle.js';
import { dcOption, rootsOf, type RootFlags } from './common.js';

export function consoleVerb(): Command {
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
      const { attachConsole } = await import('../../vdc/host/console.js');
      process.stderr.write(`connected to ${node}'s console; Ctrl-] detaches\n`);
      const reason = await attachConsole(machine.console, process.stdin, process.stdout);
      process.stderr.write(reason === 'detached' ? '\ndetached\n' : `\n${node}'s console closed (powered off?)\n`);
    });
}
