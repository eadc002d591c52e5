/**
 * `yagura kernel-params get|set`: the kernel parameters every machine's iPXE
 * script appends to its kernel line (sabakan's /api/v1/kernel_params/coreos).
 */
import { Command } from 'commander';
import { IMAGE_OS } from '../boot/image-model.js';
import { type ServerFlags, ServerClient, commandGroup } from './client/index.js';
import { type OutputFormat, outputOption, printJson } from './table.js';

const PATH = `/api/v1/kernel_params/${IMAGE_OS}`;

export function kernelParamsCommand(): Command {
  const set = new Command('set')
    .description('set the kernel parameters (replacing all of them); the arguments are joined with spaces')
    .argument('<params...>', 'kernel parameters, e.g. console=ttyS0 coreos.autologin')
    .addHelpText(
      'after',
      `
The parameters must be printable ASCII without $ # ; & | quotes or backslash
(iPXE would interpret them). They apply to every machine's next boot.

Examples:
  yagura kernel-params set console=ttyS0,115200n8 coreos.autologin=ttyS0
  yagura kernel-params set ""          clears them`,
    )
    .action(async (params: string[], flags: ServerFlags) => {
      const text = params.join(' ').trim();
      await ServerClient.from(flags).request('PUT', PATH, { text });
      process.stdout.write(text ? `kernel parameters set: ${text}\n` : 'kernel parameters cleared\n');
    });
  const get = new Command('get')
    .description('print the kernel parameters')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  yagura kernel-params get\n  yagura kernel-params get -o json')
    .action(async (flags: ServerFlags & { output: OutputFormat }) => {
      const params = (await ServerClient.from(flags).getText(PATH)).trim();
      if (flags.output === 'json') return printJson({ os: IMAGE_OS, params });
      if (!params) {
        process.stderr.write('no kernel parameters are set\n');
        return;
      }
      process.stdout.write(`${params}\n`);
    });
  return commandGroup('kernel-params', 'show or set the kernel parameters of every machine’s netboot', [get, set]).addHelpText(
    'after',
    `
Examples:
  yagura kernel-params set console=ttyS0 coreos.autologin
  yagura kernel-params get`,
  );
}
