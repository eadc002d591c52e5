/** `yagura repairs <verb>`: see the repair queue of a running Yagura server, pause and resume it, cancel a machine's repair. */
import { Command } from 'commander';
import { formatDuration } from '../lib/duration.js';
import { count } from '../lib/plural.js';
import type { RepairQueueView } from '../repair/repairs.js';
import type { RepairRecord } from '../repair/model.js';
import { type ServerFlags, ServerClient, commandGroup } from './client/index.js';
import { type OutputFormat, outputOption, printJson, printTable } from './table.js';

export function repairsCommand(): Command {
  return commandGroup(
    'repairs',
    'the repair queue: machines unhealthy or unreachable for too long are power-cycled through their BMCs (docs/repairs.md)',
    [listVerb(), pauseVerb(true), pauseVerb(false), cancelVerb()],
  ).addHelpText(
    'after',
    `
Examples:
  yagura repairs list
  yagura repairs pause
  yagura repairs cancel 8Y6HM92
  yagura repairs resume

The server is http://127.0.0.1:10080 unless --server or YAGURA_SERVER says otherwise.`,
  );
}

const HEADERS = ['SERIAL', 'RACK', 'STATE', 'STATUS', 'CYCLES', 'FAULT', 'NOTE'];

function listVerb(): Command {
  return new Command('list')
    .description('show the queue: machines in repair, waiting (in queue order), left alone, and each machine’s last repair')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
STATUS is repairing, waiting (faulty; the NOTE says what it waits for),
skipped (faulty, but not the queue's to repair: a boot server, a BMC that
speaks neither IPMI nor Redfish), or how its last repair ended: succeeded,
escalated (set to retiring for a person) or cancelled. CYCLES counts the power
cycles sent. Times are UTC.

Examples:
  yagura repairs list
  yagura repairs list -o json`,
    )
    .action(async (flags: ServerFlags & { output: OutputFormat }) => {
      const view = await ServerClient.from(flags).getJson<RepairQueueView>('/api/v1/repairs');
      if (flags.output === 'json') return printJson(view);
      const { config } = view;
      const queue = view.paused
        ? `paused by ${view.switchedBy} at ${view.switchedAt}`
        : `running${view.leader ? ` (led by ${view.leader})` : ', but no server leads it'}`;
      process.stdout.write(
        `queue:  ${queue}\n` +
          `limits: repair after ${formatDuration(config.afterMs)} unhealthy or unreachable; ` +
          `at most ${config.maxInRepair} at once, ${config.perRack} a rack; ` +
          `${count(config.maxAttempts, 'power cycle')} ${formatDuration(config.attemptWaitMs)} apart, then a person\n\n`,
      );
      if (!view.credentials)
        process.stderr.write(
          'yagura: warning: no BMC credentials are set, so nothing is repaired: yagura bmc credentials set --user USER --password-file FILE\n',
        );
      if (view.repairs.length === 0) {
        process.stdout.write('no machine is in repair, waiting, or repaired before\n');
        return;
      }
      printTable(
        HEADERS,
        view.repairs.map((entry) => [
          entry.serial,
          entry.rack < 0 ? '' : String(entry.rack),
          entry.state,
          entry.status,
          String(entry.attempts),
          entry.faultAt ?? '',
          entry.note,
        ]),
      );
    });
}

function pauseVerb(pause: boolean): Command {
  return new Command(pause ? 'pause' : 'resume')
    .description(
      pause
        ? 'pause the queue on every server: no repair starts, no power cycle is sent, nothing is escalated'
        : 'resume the queue: repairs start and go on again',
    )
    .addHelpText(
      'after',
      pause
        ? `
Repairs in progress keep their records and close as succeeded if their
machine turns healthy; the pause lasts until resumed, across restarts.

Example:
  yagura repairs pause`
        : '\nExample:\n  yagura repairs resume',
    )
    .action(async (flags: ServerFlags) => {
      const answer = await ServerClient.from(flags).requestJson<{ changed: boolean }>(
        'POST',
        `/api/v1/repairs/${pause ? 'pause' : 'resume'}`,
      );
      const done = pause ? 'paused' : 'resumed';
      process.stdout.write(
        answer.changed ? `repair queue ${done}\n` : `repair queue was already ${pause ? 'paused' : 'running'}\n`,
      );
    });
}

function cancelVerb(): Command {
  return new Command('cancel')
    .description(
      'cancel a machine’s repair, or keep a faulty machine that waits from being repaired, until it is no longer faulty',
    )
    .argument('<serial>', 'serial number of the machine')
    .addHelpText(
      'after',
      `
The queue leaves the machine alone while it stays unhealthy or unreachable;
once it is anything else (healthy, or set by a person), a new fault is
repaired again.

Example:
  yagura repairs cancel 8Y6HM92`,
    )
    .action(async (serial: string, flags: ServerFlags) => {
      const record = await ServerClient.from(flags).requestJson<RepairRecord>(
        'POST',
        `/api/v1/repairs/${encodeURIComponent(serial)}/cancel`,
      );
      const after = record.attempts > 0 ? ` after ${count(record.attempts, 'power cycle')}` : '';
      process.stdout.write(`${serial}: repair cancelled${after}; left alone while it is ${record.fault}\n`);
    });
}
