/** `yagura logs`: the audit log of a running Yagura server — who changed what, when, in revision order. */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { AuditRecord } from '../inventory/audit.js';
import { type ServerFlags, ServerClient, parseJson, serverCommand } from './client/index.js';
import { type OutputFormat, outputOption, printTable } from './table.js';

interface LogFlags extends ServerFlags {
  since?: string;
  until?: string;
  output: OutputFormat;
}

export function logsCommand(): Command {
  return serverCommand(
    new Command('logs')
      .description('print the audit log: one record per change (days in UTC; --until is exclusive)')
      .addOption(new Option('--since <YYYYMMDD>', 'first day to print').argParser(parseDay))
      .addOption(new Option('--until <YYYYMMDD>', 'print days before this one').argParser(parseDay))
      .addOption(outputOption())
      .addHelpText(
        'after',
        `
-o json prints the server's records as they come: one JSON object per line
{ts, rev, user, ip, host, category, instance, action, detail}.

Examples:
  yagura logs
  yagura logs --since 20300101 --until 20300201
  yagura logs -o json | jq 'select(.category == "machines")'`,
      )
      .action(async (flags: LogFlags) => {
        const query: Record<string, string> = {};
        if (flags.since) query.since = flags.since;
        if (flags.until) query.until = flags.until;
        const text = await ServerClient.from(flags).getText('/api/v1/logs', query);
        if (flags.output === 'json') return void process.stdout.write(text);
        const records = text
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => parseJson<AuditRecord>(line, 'GET /api/v1/logs'));
        if (records.length === 0) {
          process.stderr.write('no audit records\n');
          return;
        }
        printTable(
          ['TIME', 'REV', 'USER', 'IP', 'CATEGORY', 'INSTANCE', 'ACTION', 'DETAIL'],
          records.map((r) => [r.ts, String(r.rev), r.user, r.ip, r.category, r.instance, r.action, r.detail]),
        );
      }),
  );
}

function parseDay(text: string): string {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (match) {
    const iso = `${match[1]}-${match[2]}-${match[3]}`;
    const date = new Date(`${iso}T00:00:00Z`);
    if (!Number.isNaN(date.getTime()) && date.toISOString().startsWith(iso)) return text;
  }
  throw new InvalidArgumentError('must be a day as YYYYMMDD, e.g. 20300131');
}
