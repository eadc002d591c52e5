/** `yagura dc power`: switch a VM node's power through its virtual BMC, or show it. */
import { Command } from 'commander';
import { UserError } from '../../lib/errors.js';
import { pickDc } from '../../vdc/lifecycle.js';
import { runPaths } from '../../vdc/run-dir.js';
import { askSupervisor } from '../../vdc/supervisor/control.js';
import { dcOption, rootsOf, type RootFlags } from './common.js';

export function powerVerb(): Command {
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
