/** `yagura dhcp leases`: the DHCP leases the boot servers handed out, from GET /api/v1/dhcp/leases. */
import { Command } from 'commander';
import type { LeaseListEntry } from '../boot/dhcp/lease-view.js';
import { type ServerFlags, ServerClient } from './client/index.js';
import { type OutputFormat, outputOption, printJson, printTable } from './table.js';

const HEADERS = ['ADDRESS', 'MAC', 'STATE', 'EXPIRES', 'HOSTNAME'];

export function leasesVerb(): Command {
  return new Command('leases')
    .description('list the DHCP leases in address order: the current ones, or every one with --all')
    .option('--all', 'include expired leases (their addresses are free to hand out again)')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
STATE is offered (held for a client between its DISCOVER and REQUEST), bound
(the client took it; renewed until EXPIRES), or declined (a client found the
address in use: MAC is "declined" and the address rests until EXPIRES).
EXPIRES is UTC. Leases are in the store, so any server on it lists them all.

A lease key in the store that holds no lease shows as STATE corrupt, with its
key and error on stderr: repair or delete that key (docs/store-documents.md).
With -o json it is an entry {"address", "state": "corrupt", "key", "error"}.

Examples:
  yagura dhcp leases
  yagura dhcp leases --all -o json`,
    )
    .action(async (flags: ServerFlags & { all?: boolean; output: OutputFormat }) => {
      const entries = await ServerClient.from(flags).getJson<LeaseListEntry[]>(
        '/api/v1/dhcp/leases',
        flags.all ? { all: 'true' } : undefined,
      );
      if (flags.output === 'json') return printJson(entries);
      printTable(
        HEADERS,
        entries.map((entry) =>
          entry.state === 'corrupt'
            ? [entry.address ?? entry.key, '', 'corrupt', '', '']
            : [entry.address, entry.mac, entry.state, entry.expires, entry.hostname ?? ''],
        ),
      );
      for (const entry of entries) if (entry.state === 'corrupt') process.stderr.write(`yagura: warning: ${entry.error}\n`);
    });
}
