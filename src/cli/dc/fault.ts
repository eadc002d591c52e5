/** `yagura dc fault`: break or mend a part of a VM node's hardware at runtime, as its BMC reports it; or list the parts. */
import { Command } from 'commander';
import { UserError } from '../../lib/errors.js';
import { PART_KINDS, STANDARD_LAYOUT, partsOf } from '../../vdc/bmc/hardware.js';
import { pickDc } from '../../vdc/lifecycle.js';
import { runPaths } from '../../vdc/run-dir.js';
import { askSupervisor } from '../../vdc/supervisor/control.js';
import type { HardwareAnswer } from '../../vdc/supervisor/hardware-faults.js';
import { type OutputFormat, outputOption, printJson, printTable } from '../table.js';
import { dcOption, rootsOf, type RootFlags } from './common.js';

const PART_NAME = new RegExp(`^(${PART_KINDS.join('|')})\\d+$`);

export function faultVerb(): Command {
  return new Command('fault')
    .description("break or mend a part of a VM node's hardware (its BMC reports it over Redfish), or list the parts")
    .argument('<node>', 'a VM node')
    .argument('[part]', `the part, e.g. drive0, psu1, fan2, dimm3 (without it: list the parts)`)
    .option('--mend', 'make the part healthy again (default: break it)')
    .option('--list', 'list the parts and their health (the default without a part)')
    .addOption(outputOption())
    .addOption(dcOption())
    .addHelpText(
      'after',
      `
A broken part reads Status.Health "Critical" in the BMC's Redfish (Storage
drives, Chassis Power and Thermal, Memory), and the System and Chassis
HealthRollup turns Critical with it.
Parts of every VM: ${describeLayout()}.

Examples:
  yagura dc fault rack0-cs1 drive0          drive 0 fails
  yagura dc fault rack0-cs1 drive0 --mend   and is replaced
  yagura dc fault rack0-cs1                 every part and its health`,
    )
    .action(
      async (
        node: string,
        part: string | undefined,
        flags: RootFlags & { dc?: string; mend?: boolean; list?: boolean; output: OutputFormat },
      ) => {
        if (part !== undefined && flags.list) throw new UserError('give a part to break or mend, or --list, not both', 2);
        if (part === undefined && flags.mend)
          throw new UserError('say which part to mend, e.g. `dc fault NODE drive0 --mend`', 2);
        if (part !== undefined && !PART_NAME.test(part))
          throw new UserError(
            `unknown part "${part}": parts are ${partsOf(STANDARD_LAYOUT)
              .map((p) => p.name)
              .join(', ')}`,
            2,
          );
        const dc = await pickDc(flags.dc, rootsOf(flags));
        const answer = await askSupervisor<HardwareAnswer>(
          runPaths(flags.runRoot, dc).control,
          part === undefined ? { op: 'hardware', node } : { op: 'fault', node, part, ...(flags.mend ? { mend: true } : {}) },
        );
        if (flags.output === 'json') return printJson(answer);
        if (answer.changed === undefined)
          return printTable(
            ['PART', 'KIND', 'REDFISH ID', 'HEALTH'],
            answer.parts.map((p) => [p.name, p.kind, p.redfishId, p.health]),
          );
        const { from, to } = answer.changed;
        const redfishId = answer.parts.find((p) => p.name === answer.changed!.part)?.redfishId ?? '';
        process.stdout.write(
          `${node} ${answer.changed.part} (${redfishId}): ${to}${from === to ? ` (already ${to})` : ` (was ${from})`}\n`,
        );
      },
    );
}

/** "drive0–drive1, psu0–psu1, …" */
function describeLayout(): string {
  return PART_KINDS.map((kind) => `${kind}0–${kind}${STANDARD_LAYOUT[kind] - 1}`).join(', ');
}
