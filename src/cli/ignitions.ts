/**
 * `yagura ignitions <verb>`: the Ignition config templates of each role
 * (sabakan's /api/v1/ignitions, Ignition spec 3). Versions are immutable;
 * machines of a role boot its highest version, so deleting that one rolls back.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../lib/errors.js';
import { ApiError, type ServerFlags, ServerClient, commandGroup } from './client/index.js';
import { shortDate } from './images.js';
import { readJsonFile } from './input.js';
import { type OutputFormat, outputOption, printJson, printKeyValues, printTable } from './table.js';

/** One version as GET /api/v1/ignitions/<role>/<id> answers. */
interface IgnitionTemplate {
  role: string;
  id: string;
  template: Record<string, unknown>;
  meta: Record<string, unknown>;
  created: string;
}

export function ignitionsCommand(): Command {
  return commandGroup('ignitions', 'set, show, list and delete the Ignition config templates of each role', [
    setVerb(),
    getVerb(),
    listVerb(),
    deleteVerb(),
  ]).addHelpText(
    'after',
    `
Examples:
  yagura ignitions set worker 1.0.0 -f worker.ign --meta ssh-key="$(cat ~/.ssh/id_ed25519.pub)"
  yagura ignitions list worker
  yagura ignitions get worker 1.0.0 -o json
  yagura ignitions delete worker 1.0.0

Machines of a role boot its highest version, rendered for each machine at
/api/v1/boot/ignitions/SERIAL/ID.`,
  );
}

function setVerb(): Command {
  return new Command('set')
    .description('add a version of a role’s Ignition template; the server checks it with ignition-validate first')
    .argument('<role>', 'machine role, e.g. worker')
    .argument('<id>', 'version: 1 to 4 dotted numbers, e.g. 1.2.3 (higher than the versions kept, never reused)')
    .requiredOption('-f, --file <file>', 'the Ignition config template (JSON, spec 3.x); - reads stdin')
    .addOption(new Option('--meta-file <file>', 'a JSON object of metadata for the template ({{ meta.KEY }})'))
    .addOption(new Option('--meta <key=value>', 'one metadata string (repeatable; wins over --meta-file)').argParser(collectMeta))
    .addHelpText(
      'after',
      `
The template is an Ignition config whose strings may hold placeholders such as
{{ spec.serial }}, {{ info.network.ipv4[0].address }}, {{ urls.assets }} and
{{ meta.KEY }}. Before storing it, the server renders it for a sample machine
of the role and runs ignition-validate; a problem is reported with the field
(a JSON pointer into the template) and nothing is stored.

Examples:
  yagura ignitions set worker 1.0.0 -f worker.ign
  yagura ignitions set worker 1.1.0 -f worker.ign --meta-file worker-meta.json --meta revision=7`,
    )
    .action(
      async (
        role: string,
        id: string,
        flags: ServerFlags & { file: string; metaFile?: string; meta?: Record<string, string> },
      ) => {
        if (flags.file === '-' && flags.metaFile === '-') throw new UserError('-f and --meta-file cannot both read stdin', 2);
        const template = readJsonFile(flags.file, 'object', 'the Ignition config template');
        const fromFile = flags.metaFile ? (readJsonFile(flags.metaFile, 'object', 'template metadata') as object) : {};
        const meta = { ...fromFile, ...flags.meta };
        const result = await ServerClient.from(flags)
          .requestJson<{ warnings?: string[] }>('PUT', ignitionPath(role, id), { json: { template, meta } })
          .catch((error: unknown) => {
            throw oneLine(error);
          });
        for (const warning of result.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
        process.stdout.write(`Ignition template ${role}/${id} set\n`);
      },
    );
}

function getVerb(): Command {
  return new Command('get')
    .description('show one version of a role’s Ignition template, as uploaded')
    .argument('<role>', 'machine role')
    .argument('<id>', 'version')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
Examples:
  yagura ignitions get worker 1.0.0
  yagura ignitions get worker 1.0.0 -o json | jq .template > worker.ign`,
    )
    .action(async (role: string, id: string, flags: ServerFlags & { output: OutputFormat }) => {
      const found = await ServerClient.from(flags).getJson<IgnitionTemplate>(ignitionPath(role, id));
      if (flags.output === 'json') return printJson(found);
      printKeyValues([
        ['role', found.role],
        ['id', found.id],
        ['created', found.created],
        ['meta', metaText(found.meta)],
      ]);
      process.stdout.write(`template:\n${JSON.stringify(found.template, null, 2).replace(/^/gm, '  ')}\n`);
    });
}

const LIST_HEADERS = ['ID', 'CREATED', 'NEWEST', 'META'];

function listVerb(): Command {
  return new Command('list')
    .description('list the kept versions of a role’s Ignition template, lowest first (machines boot the NEWEST)')
    .argument('<role>', 'machine role')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
With -o json: an array of {role, id, created, meta, newest}, without the templates.

Examples:
  yagura ignitions list worker
  yagura ignitions list worker -o json`,
    )
    .action(async (role: string, flags: ServerFlags & { output: OutputFormat }) => {
      const client = ServerClient.from(flags);
      const ids = await client.getJson<string[]>(`/api/v1/ignitions/${encodeURIComponent(role)}`);
      const found = await Promise.all(ids.map((id) => versionOf(client, role, id)));
      const versions = found
        .filter((version): version is IgnitionTemplate => version !== undefined)
        .map(({ role, id, created, meta }, i, all) => ({ role, id, created, meta, newest: i === all.length - 1 }));
      if (flags.output === 'json') return printJson(versions);
      if (versions.length === 0) {
        process.stderr.write(`no Ignition templates for role ${role}\n`);
        return;
      }
      printTable(
        LIST_HEADERS,
        versions.map((v) => [v.id, shortDate(v.created), v.newest ? 'yes' : '', metaText(v.meta)]),
      );
    });
}

/** One version, or undefined when it was deleted since it was listed. */
async function versionOf(client: ServerClient, role: string, id: string): Promise<IgnitionTemplate | undefined> {
  try {
    return await client.getJson<IgnitionTemplate>(ignitionPath(role, id));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

function deleteVerb(): Command {
  return new Command('delete')
    .description('delete a version of a role’s Ignition template (deleting the highest rolls machines back)')
    .argument('<role>', 'machine role')
    .argument('<id>', 'version')
    .addHelpText('after', '\nExample:\n  yagura ignitions delete worker 1.1.0')
    .action(async (role: string, id: string, flags: ServerFlags) => {
      const { newest } = await ServerClient.from(flags).requestJson<{ newest: string | null }>('DELETE', ignitionPath(role, id));
      process.stdout.write(
        `deleted Ignition template ${role}/${id}; machines of role ${role} now boot ${newest ? `version ${newest}` : 'no template'}\n`,
      );
    });
}

function ignitionPath(role: string, id: string): string {
  return `/api/v1/ignitions/${encodeURIComponent(role)}/${encodeURIComponent(id)}`;
}

function collectMeta(text: string, previous: Record<string, string> | undefined): Record<string, string> {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new InvalidArgumentError('must be key=value');
  const key = text.slice(0, equals);
  if (previous && key in previous) throw new InvalidArgumentError(`${key} is given twice`);
  return { ...previous, [key]: text.slice(equals + 1) };
}

/** key=value,… with non-string values as JSON and long values cut short, for one table cell. */
function metaText(meta: Record<string, unknown>): string {
  return Object.entries(meta)
    .map(([key, value]) => {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      return `${key}=${text.length > 40 ? `${text.slice(0, 39)}…` : text}`;
    })
    .join(',');
}

/** The validator may report several problems; the user gets them on one line, with the field. */
function oneLine(error: unknown): unknown {
  if (!(error instanceof ApiError) || !/\n/.test(error.error)) return error;
  return new ApiError(error.status, error.error.replace(/\s*\n\s*/g, '; ').trim(), error.field);
}
