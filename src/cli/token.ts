/** `yagura token`: the bearer tokens that `yagura serve --token-file` accepts. Only hashes are written to the file. */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { hashToken, TokenTable } from '../api/auth.js';
import { UserError } from '../lib/errors.js';

const fileOption = () =>
  new Option('--token-file <file>', 'the token file of yagura serve').env('YAGURA_TOKEN_FILE').makeOptionMandatory();

export function tokenCommand(): Command {
  const command = new Command('token').description('manage API tokens (the file holds names and SHA-256 hashes, never tokens)');
  command
    .command('add')
    .description('create a token for NAME, append its hash to the file, and print the token once')
    .argument('<name>', 'who uses the token; recorded as the user in the audit log')
    .addOption(fileOption())
    .action((name: string, flags: { tokenFile: string }) => {
      if (!/^[A-Za-z0-9._@-]+$/.test(name))
        throw new UserError(`token name ${JSON.stringify(name)} may only contain letters, digits and . _ @ -`, 2);
      if (existsSync(flags.tokenFile) && names(flags.tokenFile).includes(name)) {
        throw new UserError(
          `${flags.tokenFile} already has a token named ${name}: remove it first (yagura token remove ${name})`,
        );
      }
      const token = randomBytes(32).toString('base64url');
      appendFileSync(flags.tokenFile, `${name} ${hashToken(token)}\n`, { mode: 0o600 });
      TokenTable.load(flags.tokenFile); // the file still parses
      process.stdout.write(`${token}\n`);
      process.stderr.write(
        `token for ${name} added to ${flags.tokenFile}; it is shown only now. Restart yagura serve to load it.\n`,
      );
    });
  command
    .command('list')
    .description('names of the tokens in the file')
    .addOption(fileOption())
    .action((flags: { tokenFile: string }) => {
      for (const name of names(flags.tokenFile)) process.stdout.write(`${name}\n`);
    });
  command
    .command('remove')
    .description('remove the token of NAME from the file')
    .argument('<name>')
    .addOption(fileOption())
    .action((name: string, flags: { tokenFile: string }) => {
      const lines = read(flags.tokenFile).split('\n');
      const kept = lines.filter((line) => line.replace(/#.*/, '').trim().split(/\s+/)[0] !== name);
      if (kept.length === lines.length) throw new UserError(`${flags.tokenFile} has no token named ${name}`);
      writeFileSync(flags.tokenFile, kept.join('\n'), { mode: 0o600 });
      process.stderr.write(`removed ${name}; restart yagura serve to apply\n`);
    });
  return command;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`--token-file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code})`);
  }
}

function names(file: string): string[] {
  return read(file)
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/)[0])
    .filter((name): name is string => Boolean(name));
}
