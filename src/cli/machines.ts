/** `yagura machines <verb>`: register, find and change machines on a running Yagura server. */
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { MACHINE_STATES, type Machine } from '../inventory/model.js';
import { UserError } from '../lib/errors.js';
import { type ServerFlags, ServerClient, commandGroup } from './client/index.js';
import { readJsonFile } from './input.js';
import { type OutputFormat, outputOption, printJson, printTable } from './table.js';

export function machinesCommand(): Command {
  return commandGroup('machines', 'register, find and change the machines of the data center (on a running yagura serve)', [
    createVerb(),
    getVerb(),
    getStateVerb(),
    setStateVerb(),
    setLabelVerb(),
    removeLabelVerb(),
    setRetireDateVerb(),
    removeVerb(),
  ]).addHelpText(
    'after',
    `
Examples:
  yagura machines create -f machines.json
  yagura machines get --rack 1 --role boot
  yagura machines get --state unhealthy --state unreachable -o json
  yagura machines set-state 8Y6HM92 retiring
  yagura machines set-label 8Y6HM92 datacenter tokyo1

The server is http://127.0.0.1:10080 unless --server or YAGURA_SERVER says otherwise.`,
  );
}

const MACHINE_HEADERS = ['SERIAL', 'RACK', 'INDEX', 'ROLE', 'STATE', 'IPV4', 'BMC', 'LABELS'];

export function printMachines(machines: Machine[]): void {
  printTable(
    MACHINE_HEADERS,
    machines.map(({ spec, status }) => [
      spec.serial,
      String(spec.rack),
      String(spec['index-in-rack']),
      spec.role,
      status.state,
      spec.ipv4[0] ?? '',
      spec.bmc.ipv4,
      Object.entries(spec.labels)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, value]) => `${name}=${value}`)
        .join(','),
    ]),
  );
}

function createVerb(): Command {
  return new Command('create')
    .description('register machines from a JSON array of specs; all of them or none (the server assigns index and addresses)')
    .requiredOption('-f, --file <file>', 'JSON array of {serial, rack, role, bmc: {type}, labels?, retire-date?}; - reads stdin')
    .addHelpText(
      'after',
      `
Example file:
  [{"serial": "8Y6HM92", "rack": 0, "role": "boot", "bmc": {"type": "IPMI-2.0"}, "labels": {"datacenter": "tokyo1"}}]

Examples:
  yagura machines create -f machines.json
  generate-specs | yagura machines create -f -`,
    )
    .action(async (flags: ServerFlags & { file: string }) => {
      const specs = readJsonFile(flags.file, 'array', 'machine specs');
      const machines = await ServerClient.from(flags).requestJson<Machine[]>('POST', '/api/v1/machines', { json: specs });
      process.stdout.write(`registered ${machines.length} machine${machines.length === 1 ? '' : 's'}\n`);
      printMachines(machines);
    });
}

/** A search filter: a repeatable flag, its without- form, and the query parameter both become. */
interface Filter {
  flag: string;
  param: string;
  value: string;
  help: string;
  check?: (value: string) => string | undefined;
}

const FILTERS: Filter[] = [
  { flag: 'serial', param: 'serial', value: 'serial', help: 'serial number' },
  {
    flag: 'rack',
    param: 'rack',
    value: 'n',
    help: 'rack number',
    check: (v) => (/^\d+$/.test(v) ? undefined : 'must be a number'),
  },
  { flag: 'role', param: 'role', value: 'role', help: 'role (e.g. boot, cs, ss)' },
  {
    flag: 'state',
    param: 'state',
    value: 'state',
    help: `state (${MACHINE_STATES.join(', ')})`,
    check: (v) => ((MACHINE_STATES as readonly string[]).includes(v) ? undefined : `must be one of ${MACHINE_STATES.join(', ')}`),
  },
  {
    flag: 'label',
    param: 'labels',
    value: 'name=value',
    help: 'label (several --label must all match)',
    check: (v) => (v.indexOf('=') > 0 ? undefined : 'must be name=value'),
  },
  { flag: 'ipv4', param: 'ipv4', value: 'address', help: 'IPv4 address of the node' },
  { flag: 'ipv6', param: 'ipv6', value: 'address', help: 'IPv6 address of the node' },
  { flag: 'bmc-type', param: 'bmc-type', value: 'type', help: 'BMC type (e.g. IPMI-2.0, iDRAC-9)' },
];

function getVerb(): Command {
  const command = new Command('get').description('list machines, all or those matching the filters').addHelpText(
    'after',
    `
Each filter may be repeated (or take comma-separated values): a machine matches
if it has any of the values. Different filters must all match, and every
--label must match. A --without-X flag leaves out the machines that --X would
match; --X and --without-X cannot be combined.

Examples:
  yagura machines get
  yagura machines get --rack 0 --rack 1 --role cs
  yagura machines get --label datacenter=tokyo1 --without-state retired
  yagura machines get --serial 8Y6HM92 -o json`,
  );
  const options = FILTERS.map((filter) => {
    const option = (without: boolean) =>
      new Option(
        `--${without ? 'without-' : ''}${filter.flag} <${filter.value}>`,
        without ? `leave out the machines --${filter.flag} would match` : `only machines with this ${filter.help}`,
      ).argParser(collect(filter));
    return { filter, having: option(false), notHaving: option(true) };
  });
  for (const { having } of options) command.addOption(having);
  for (const { notHaving } of options) command.addOption(notHaving);
  return command
    .addOption(outputOption())
    .action(async (flags: ServerFlags & { output: OutputFormat } & Record<string, unknown>) => {
      // The query string: each flag's values joined by commas, as sabakan takes them.
      const query: Record<string, string> = {};
      for (const { filter, having, notHaving } of options) {
        const values = flags[having.attributeName()] as string[] | undefined;
        const without = flags[notHaving.attributeName()] as string[] | undefined;
        if (values && without) throw new UserError(`--${filter.flag} and --without-${filter.flag} cannot be combined`, 2);
        if (values) query[filter.param] = values.join(',');
        if (without) query[`without-${filter.param}`] = without.join(',');
      }
      const machines = await ServerClient.from(flags).getJson<Machine[]>('/api/v1/machines', query);
      if (flags.output === 'json') return printJson(machines);
      if (machines.length === 0) {
        process.stderr.write('no machines match\n');
        return;
      }
      printMachines(machines);
    });
}

function collect(filter: Filter): (value: string, previous: string[] | undefined) => string[] {
  return (value, previous) => {
    const values = value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean);
    if (values.length === 0) throw new InvalidArgumentError('is empty');
    for (const v of values) {
      const problem = filter.check?.(v);
      if (problem) throw new InvalidArgumentError(`${JSON.stringify(v)} ${problem}`);
    }
    return [...(previous ?? []), ...values];
  };
}

function getStateVerb(): Command {
  return new Command('get-state')
    .description('print the state of a machine')
    .argument('<serial>', 'serial number of the machine')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  yagura machines get-state 8Y6HM92')
    .action(async (serial: string, flags: ServerFlags & { output: OutputFormat }) => {
      const state = (await ServerClient.from(flags).getText(`/api/v1/state/${encodeURIComponent(serial)}`)).trim();
      if (flags.output === 'json') return printJson({ serial, state });
      process.stdout.write(`${state}\n`);
    });
}

function setStateVerb(): Command {
  return new Command('set-state')
    .description('change the lifecycle state of a machine (the server refuses transitions the lifecycle does not allow)')
    .argument('<serial>', 'serial number of the machine')
    .addArgument(new Argument('<state>', 'the new state').choices(MACHINE_STATES))
    .addHelpText(
      'after',
      `
Lifecycle: uninitialized → healthy ⇄ unhealthy/unreachable/updating → retiring →
retired → uninitialized; updating → uninitialized.

Examples:
  yagura machines set-state 8Y6HM92 healthy
  yagura machines set-state 8Y6HM92 retiring`,
    )
    .action(async (serial: string, state: string, flags: ServerFlags) => {
      await ServerClient.from(flags).request('PUT', `/api/v1/state/${encodeURIComponent(serial)}`, { text: state });
      process.stdout.write(`${serial} is now ${state}\n`);
    });
}

function setLabelVerb(): Command {
  return new Command('set-label')
    .description('set a label of a machine (adds it or changes its value)')
    .argument('<serial>', 'serial number of the machine')
    .argument('<name>', 'label name, e.g. datacenter or example.com/zone')
    .argument('<value>', 'label value ("" for an empty value)')
    .addHelpText('after', '\nExample:\n  yagura machines set-label 8Y6HM92 datacenter tokyo1')
    .action(async (serial: string, name: string, value: string, flags: ServerFlags) => {
      await ServerClient.from(flags).request('PUT', labelPath(serial, name), { text: value });
      process.stdout.write(`${serial}: label ${name}=${value} set\n`);
    });
}

function removeLabelVerb(): Command {
  return new Command('remove-label')
    .description('remove a label from a machine')
    .argument('<serial>', 'serial number of the machine')
    .argument('<name>', 'label name')
    .addHelpText('after', '\nExample:\n  yagura machines remove-label 8Y6HM92 datacenter')
    .action(async (serial: string, name: string, flags: ServerFlags) => {
      await ServerClient.from(flags).request('DELETE', labelPath(serial, name));
      process.stdout.write(`${serial}: label ${name} removed\n`);
    });
}

function labelPath(serial: string, name: string): string {
  return `/api/v1/labels/${encodeURIComponent(serial)}/${encodeURIComponent(name)}`;
}

function setRetireDateVerb(): Command {
  return new Command('set-retire-date')
    .description('set the date a machine is due to retire')
    .argument('<serial>', 'serial number of the machine')
    .addArgument(
      new Argument('<date>', 'an RFC 3339 date-time (2030-01-31T00:00:00Z) or a day (2030-01-31, midnight UTC)').argParser(
        parseRetireDate,
      ),
    )
    .addHelpText(
      'after',
      `
Examples:
  yagura machines set-retire-date 8Y6HM92 2030-01-31
  yagura machines set-retire-date 8Y6HM92 2030-01-31T09:00:00+09:00`,
    )
    .action(async (serial: string, date: string, flags: ServerFlags) => {
      await ServerClient.from(flags).request('PUT', `/api/v1/retire-date/${encodeURIComponent(serial)}`, { text: date });
      process.stdout.write(`${serial}: retire date set to ${date}\n`);
    });
}

/** RFC 3339 as given, or YYYY-MM-DD as that day's midnight UTC. */
export function parseRetireDate(text: string): string {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const dateTime = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/.exec(text);
  const match = day ?? dateTime;
  if (match) {
    const [, y, m, d] = match;
    const calendar = new Date(`${y}-${m}-${d}T00:00:00Z`);
    if (!Number.isNaN(calendar.getTime()) && calendar.toISOString().startsWith(`${y}-${m}-${d}`))
      return day ? `${text}T00:00:00Z` : text;
  }
  throw new InvalidArgumentError('must be an RFC 3339 date-time (2030-01-31T00:00:00Z) or a day (2030-01-31)');
}

function removeVerb(): Command {
  return new Command('remove')
    .description('remove a retired machine from the inventory (frees its index and addresses)')
    .argument('<serial>', 'serial number of the machine')
    .addHelpText(
      'after',
      `
Only retired machines can be removed:
  yagura machines set-state 8Y6HM92 retiring
  yagura crypts delete 8Y6HM92
  yagura machines set-state 8Y6HM92 retired
  yagura machines remove 8Y6HM92`,
    )
    .action(async (serial: string, flags: ServerFlags) => {
      await ServerClient.from(flags).request('DELETE', `/api/v1/machines/${encodeURIComponent(serial)}`);
      process.stdout.write(`removed machine ${serial}\n`);
    });
}
