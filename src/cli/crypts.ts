/** `yagura crypts delete`: forget the escrowed disk-encryption keys of a retiring machine. */
import { Command } from 'commander';
import { ApiError, type ServerFlags, ServerClient, commandGroup } from './client/index.js';

export function cryptsCommand(): Command {
  return commandGroup('crypts', 'manage the disk-encryption keys the machines escrow on the server', [deleteVerb()]);
}

function deleteVerb(): Command {
  return new Command('delete')
    .description('delete every disk key of a retiring machine, so its disks can never be decrypted again')
    .argument('<serial>', 'serial number of the machine (it must be retiring)')
    .addHelpText(
      'after',
      `
A server started with --tls-cert serves disk keys only on its HTTPS listener:
  yagura crypts delete 8Y6HM92 --server https://boot-0:10443 --cacert ca.pem

Examples:
  yagura machines set-state 8Y6HM92 retiring
  yagura crypts delete 8Y6HM92`,
    )
    .action(async (serial: string, flags: ServerFlags) => {
      const client = ServerClient.from(flags);
      let paths: string[];
      try {
        paths = await client.requestJson<string[]>('DELETE', `/api/v1/crypts/${encodeURIComponent(serial)}`);
      } catch (error) {
        if (
          error instanceof ApiError &&
          error.status === 404 &&
          /TLS listener/.test(error.error) &&
          flags.server.protocol === 'http:'
        )
          throw new ApiError(404, `${error.error}: use --server https://${flags.server.hostname}:10443 (and --cacert FILE)`);
        throw error;
      }
      process.stdout.write(`deleted ${paths.length} disk key${paths.length === 1 ? '' : 's'} of ${serial}\n`);
      for (const path of paths) process.stdout.write(`  ${path}\n`);
    });
}
