/** `yagura bmc credentials set|get`: the user and password the boot servers log in to every machine's BMC with. */
import { Command } from 'commander';
import type { BmcCredentialsSummary } from '../inventory/bmc-credentials.js';
import { UserError } from '../lib/errors.js';
import { type ServerFlags, ServerClient, commandGroup } from './client/index.js';
import { readInput } from './input.js';
import { type OutputFormat, outputOption, printJson, printKeyValues } from './table.js';

export function bmcCommand(): Command {
  const credentials = commandGroup(
    'credentials',
    'the user and password the boot servers log in to every machine’s BMC with (kept in the store)',
    [setVerb(), getVerb()],
  )
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  return new Command('bmc').description('the machines’ BMCs, as the boot servers reach them').addCommand(credentials);
}

function setVerb(): Command {
  return new Command('set')
    .description('set the BMC user and password of the whole data center (the repair queue uses them)')
    .requiredOption('--user <name>', 'the BMC user, e.g. repair')
    .requiredOption('--password-file <file>', 'a file whose first line is the password; - reads it from stdin')
    .addHelpText(
      'after',
      `
The password is never on the command line (where every user of the host can
read it), never answered back by the server, and never in the audit log.

Examples:
  yagura bmc credentials set --user repair --password-file /etc/yagura/bmc-password
  pass show dc/bmc | yagura bmc credentials set --user repair --password-file -`,
    )
    .action(async (flags: ServerFlags & { user: string; passwordFile: string }) => {
      const password = readPassword(flags.passwordFile);
      await ServerClient.from(flags).request('PUT', '/api/v1/bmc/credentials', { json: { user: flags.user, password } });
      process.stdout.write(`BMC credentials set: user ${flags.user}\n`);
    });
}

function getVerb(): Command {
  return new Command('get')
    .description('print the BMC user and whether a password is set (the password itself is never shown)')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  yagura bmc credentials get')
    .action(async (flags: ServerFlags & { output: OutputFormat }) => {
      const summary = await ServerClient.from(flags).getJson<BmcCredentialsSummary>('/api/v1/bmc/credentials');
      if (flags.output === 'json') return printJson(summary);
      printKeyValues([
        ['user', summary.user],
        ['password', summary.passwordSet ? 'set' : 'not set'],
      ]);
    });
}

function readPassword(file: string): string {
  const { name, text } = readInput(file);
  const password = text.split(/\r?\n/)[0]!;
  if (password === '') throw new UserError(`${name}: the password is empty (its first line is the password)`);
  return password;
}
