/** `yagura dc netem`: impair a node's interface at runtime (tc netem), or clear it. */
import { Command } from 'commander';
import { UserError } from '../../lib/errors.js';
import { describeNetem } from '../../vdc/netem.js';
import { pickDc } from '../../vdc/lifecycle.js';
import { parseDelay, parsePercent, parseRate } from '../../vdc/units.js';
import type { Netem } from '../../vdc/spec/index.js';
import { changeNetem } from '../../vdc/impairments.js';
import { dcOption, rootsOf, unit, type RootFlags } from './common.js';
import { readDcEnvironment } from './environment.js';

export function netemVerb(): Command {
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
        const where = await changeNetem(
          dc,
          rootsOf(flags),
          node,
          iface,
          flags.clear ? 'clear' : netem,
          readDcEnvironment().tools,
        );
        process.stdout.write(`${node} ${iface}: ${flags.clear ? 'impairments cleared' : describeNetem(netem)} (${where})\n`);
      },
    );
}
