/**
 * `yagura ipam get|set` and `yagura dhcp get|set`: the two server-wide
 * configs. Both groups are the same two verbs over /api/v1/config/<name>, so
 * they share this file; `dhcp` also lists the leases (dhcp-leases.ts).
 */
import { Command } from 'commander';
import { type ServerFlags, ServerClient, commandGroup } from './client/index.js';
import { leasesVerb } from './dhcp-leases.js';
import { readJsonFile } from './input.js';
import { type OutputFormat, outputOption, printJson, printKeyValues } from './table.js';

interface ConfigGroup {
  name: 'ipam' | 'dhcp';
  title: string;
  description: string;
  example: string;
  notes: string;
  /** Verbs of the group beyond get and set. */
  more?: { verbs: Command[]; description: string };
}

export function ipamCommand(): Command {
  return configCommand({
    name: 'ipam',
    title: 'IPAM',
    description: 'the address plan: node and BMC pools, from which every machine’s addresses follow its rack and index',
    example: `{"max-nodes-in-rack": 28, "node-ipv4-pool": "10.69.0.0/16", "node-ipv4-offset": "0.0.0.0",
   "node-ipv4-range-size": 6, "node-ipv4-range-mask": 26, "node-ip-per-node": 3, "node-index-offset": 3,
   "node-gateway-offset": 1, "bmc-ipv4-pool": "10.72.16.0/20", "bmc-ipv4-offset": "0.0.1.0",
   "bmc-ipv4-range-size": 5, "bmc-ipv4-range-mask": 20, "bmc-ipv4-gateway-offset": 1}`,
    notes: 'IPAM can be set only while no machine is registered: set it before yagura machines create.',
  });
}

export function dhcpCommand(): Command {
  return configCommand({
    name: 'dhcp',
    title: 'DHCP',
    description: 'the DHCP settings the boot servers hand out: lease time and DNS servers',
    example: '{"lease-minutes": 60, "dns-servers": ["10.0.0.53", "10.0.1.53"]}',
    notes: 'Fields left out take their defaults (lease-minutes 60, no DNS servers).',
    more: { verbs: [leasesVerb()], description: 'list the leases they handed out' },
  });
}

function configCommand(group: ConfigGroup): Command {
  const path = `/api/v1/config/${group.name}`;
  const set = new Command('set')
    .description(`set the ${group.title} config from a JSON file`)
    .requiredOption('-f, --file <file>', 'JSON object of the config; - reads stdin')
    .addHelpText(
      'after',
      `
Example file:
  ${group.example}

${group.notes}

Examples:
  yagura ${group.name} set -f ${group.name}.json
  cat ${group.name}.json | yagura ${group.name} set -f -`,
    )
    .action(async (flags: ServerFlags & { file: string }) => {
      const config = readJsonFile(flags.file, 'object', `${group.title} settings`);
      await ServerClient.from(flags).request('PUT', path, { json: config });
      process.stdout.write(`${group.title} config set\n`);
    });
  const get = new Command('get')
    .description(`print the ${group.title} config`)
    .addOption(outputOption())
    .addHelpText('after', `\nExamples:\n  yagura ${group.name} get\n  yagura ${group.name} get -o json`)
    .action(async (flags: ServerFlags & { output: OutputFormat }) => {
      const config = await ServerClient.from(flags).getJson<Record<string, unknown>>(path);
      if (flags.output === 'json') return printJson(config);
      printKeyValues(Object.entries(config).map(([key, value]) => [key, Array.isArray(value) ? value.join(',') : String(value)]));
    });
  const more = group.more ? `; ${group.more.description}` : '';
  return commandGroup(group.name, `show or set ${group.description}${more}`, [get, set, ...(group.more?.verbs ?? [])]);
}
