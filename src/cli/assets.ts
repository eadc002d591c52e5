/**
 * `yagura assets <verb>`: named files machines fetch while they boot or set
 * themselves up (sabakan's /api/v1/assets). An upload carries the file's
 * SHA-256, computed here (or given with --sha256), and the server stores the
 * file only if what it received has that digest.
 */
import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type AssetInfo, OPTION_HEADER_PREFIX, SHA256_HEADER } from '../boot/asset-model.js';
import { UserError } from '../lib/errors.js';
import {
  ApiError,
  type LocalFile,
  Progress,
  type ServerFlags,
  ServerClient,
  commandGroup,
  formatBytes,
  openLocalFile,
  readWhole,
} from './client/index.js';
import { shortDate } from './images.js';
import { type OutputFormat, outputOption, printJson, printKeyValues, printTable } from './table.js';
import { mapLimited } from '../lib/concurrency.js';

export function assetsCommand(): Command {
  return commandGroup('assets', 'upload, list, show and delete the assets: named files machines download', [
    uploadVerb(),
    listVerb(),
    infoVerb(),
    deleteVerb(),
  ]).addHelpText(
    'after',
    `
Examples:
  yagura assets upload setup ./setup.sh
  yagura assets upload bird.deb ./bird2_2.15.1-1_amd64.deb --option version=2.15.1
  yagura assets list
  yagura assets info setup -o json
  yagura assets delete setup

Machines download an asset from /api/v1/assets/NAME (in templates: {{ urls.assets }}/NAME).`,
  );
}

interface UploadFlags extends ServerFlags {
  contentType?: string;
  option?: Record<string, string>;
  sha256?: string;
}

function uploadVerb(): Command {
  return new Command('upload')
    .description('upload a file as an asset, replacing any asset of that name')
    .argument('<name>', 'asset name: 1–255 characters of [A-Za-z0-9._+-]')
    .argument('<file>', 'the file to upload')
    .addOption(
      new Option(
        '--content-type <type>',
        'Content-Type sent back with every download (default: from the file extension)',
      ).argParser(parseContentType),
    )
    .addOption(
      new Option('--option <key=value>', 'metadata stored with the asset (repeatable; keys are stored lower-case)').argParser(
        collectOption,
      ),
    )
    .addOption(
      new Option('--sha256 <hex>', "the file's expected SHA-256: the server refuses the upload if the file differs").argParser(
        parseSha256,
      ),
    )
    .addHelpText(
      'after',
      `
Without --sha256, the file's SHA-256 is computed here first and sent along, so
the server stores exactly these bytes or nothing. On a terminal, progress is
shown on stderr while a large upload runs; either way one line on stderr says
what was sent.

Default content types, by extension (anything else: application/octet-stream):
${contentTypeHelp()}

Examples:
  yagura assets upload setup ./setup.sh
  yagura assets upload os.img ./os.img --sha256 "$(cut -d' ' -f1 os.img.sha256)" --option arch=amd64`,
    )
    .action(async (name: string, path: string, flags: UploadFlags) => {
      const file = await openLocalFile(path);
      try {
        const sha256 = flags.sha256 ?? (await hashFile(file));
        const headers: Record<string, string> = { [SHA256_HEADER]: sha256 };
        for (const [key, value] of Object.entries(flags.option ?? {})) headers[`${OPTION_HEADER_PREFIX}${key}`] = value;
        let reply;
        try {
          reply = await ServerClient.from(flags).upload('PUT', `/api/v1/assets/${encodeURIComponent(name)}`, {
            label: `asset ${name}`,
            contentType: flags.contentType ?? contentTypeOf(path),
            length: file.size,
            body: readWhole(file),
            headers,
          });
        } catch (error) {
          if (flags.sha256 && error instanceof ApiError && error.field === SHA256_HEADER)
            throw new UserError(`${path} does not match --sha256: ${error.error}`);
          throw error;
        }
        const { id } = JSON.parse(reply.text) as { id: number };
        const what = `${formatBytes(file.size)}, sha256 ${sha256.toLowerCase()}`;
        process.stdout.write(
          reply.status === 201
            ? `uploaded asset ${name} as ID ${id} (${what})\n`
            : `replaced asset ${name}: now ID ${id} (${what})\n`,
        );
      } finally {
        await file.handle.close().catch(() => {});
      }
    });
}

async function hashFile(file: LocalFile): Promise<string> {
  const hash = createHash('sha256');
  const progress = new Progress(`computing the SHA-256 of ${file.what}`, file.size);
  let ok = false;
  try {
    for await (const chunk of readWhole(file)) {
      hash.update(chunk);
      progress.advance(chunk.length);
    }
    ok = true;
  } finally {
    progress.end(ok);
  }
  return hash.digest('hex');
}

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.ign': 'application/vnd.coreos.ignition+json',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.txt': 'text/plain',
  '.sh': 'text/x-shellscript',
  '.html': 'text/html',
  '.tar': 'application/x-tar',
  '.gz': 'application/gzip',
  '.tgz': 'application/gzip',
  '.xz': 'application/x-xz',
  '.zst': 'application/zstd',
  '.zip': 'application/zip',
  '.deb': 'application/vnd.debian.binary-package',
  '.rpm': 'application/x-rpm',
  '.iso': 'application/x-iso9660-image',
  '.img': 'application/octet-stream',
  '.efi': 'application/efi',
  '.pem': 'application/x-pem-file',
  '.crt': 'application/x-x509-ca-cert',
};

/** The extension table as indented lines of at most 80 columns. */
function contentTypeHelp(): string {
  const lines: string[] = [];
  let line = ' ';
  for (const entry of Object.entries(CONTENT_TYPES).map(([ext, type]) => ` ${ext} ${type}`)) {
    if (line.length + entry.length > 80) {
      lines.push(line);
      line = ' ';
    }
    line += entry;
  }
  return [...lines, line].join('\n');
}

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

function parseContentType(text: string): string {
  if (!/^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;[\x20-\x7e]*)?$/.test(text))
    throw new InvalidArgumentError('must be a media type such as text/plain or application/octet-stream');
  return text;
}

function parseSha256(text: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new InvalidArgumentError('must be 64 hex digits');
  return text.toLowerCase();
}

function collectOption(text: string, previous: Record<string, string> | undefined): Record<string, string> {
  const equals = text.indexOf('=');
  const key = text.slice(0, equals);
  const value = text.slice(equals + 1);
  if (equals <= 0 || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(key))
    throw new InvalidArgumentError('must be key=value with a key of [A-Za-z0-9_.-]');
  // It travels as an HTTP header value: one line of printable characters.
  if (!/^[\x20-\x7e]*$/.test(value)) throw new InvalidArgumentError('the value must be printable ASCII on one line');
  const lower = key.toLowerCase();
  if (previous && lower in previous) throw new InvalidArgumentError(`${lower} is given twice`);
  return { ...previous, [lower]: value };
}

const ASSET_HEADERS = ['NAME', 'ID', 'CONTENT-TYPE', 'SIZE', 'DATE', 'EXISTS', 'URLS'];

function listVerb(): Command {
  return new Command('list')
    .description('list the assets with their metadata, by name')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
EXISTS says whether the server asked holds a copy; URLS counts the servers that do.
With -o json: an array of the assets' metadata as yagura assets info -o json shows it.

Examples:
  yagura assets list
  yagura assets list -o json`,
    )
    .action(async (flags: ServerFlags & { output: OutputFormat }) => {
      const client = ServerClient.from(flags);
      const names = await client.getJson<string[]>('/api/v1/assets');
      const infos = (await mapLimited(names, 8, (name) => assetInfo(client, name))).filter(
        (info): info is AssetInfo => info !== undefined,
      );
      if (flags.output === 'json') return printJson(infos);
      if (infos.length === 0) {
        process.stderr.write('no assets\n');
        return;
      }
      printTable(
        ASSET_HEADERS,
        infos.map((info) => [
          info.name,
          String(info.id),
          info['content-type'],
          formatBytes(info.size),
          shortDate(info.date),
          info.exists ? 'yes' : 'no',
          String(info.urls.length),
        ]),
      );
    });
}

/** An asset's metadata, or undefined when it was deleted since it was listed. */
async function assetInfo(client: ServerClient, name: string): Promise<AssetInfo | undefined> {
  try {
    return await client.getJson<AssetInfo>(metaPath(name));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

function infoVerb(): Command {
  return new Command('info')
    .description("show an asset's metadata: ID, content type, size, SHA-256, options and the servers holding it")
    .argument('<name>', 'asset name')
    .addOption(outputOption())
    .addHelpText('after', '\nExamples:\n  yagura assets info setup\n  yagura assets info setup -o json')
    .action(async (name: string, flags: ServerFlags & { output: OutputFormat }) => {
      const info = await ServerClient.from(flags).getJson<AssetInfo>(metaPath(name));
      if (flags.output === 'json') return printJson(info);
      printKeyValues([
        ['name', info.name],
        ['id', String(info.id)],
        ['content-type', info['content-type']],
        ['size', `${info.size} (${formatBytes(info.size)})`],
        ['sha256', info.sha256],
        ['date', info.date],
        ['exists', info.exists ? 'yes' : 'no'],
        ['urls', info.urls.join(',')],
        [
          'options',
          Object.entries(info.options)
            .map(([key, value]) => `${key}=${value}`)
            .join(','),
        ],
      ]);
    });
}

function deleteVerb(): Command {
  return new Command('delete')
    .description('delete an asset on every server')
    .argument('<name>', 'asset name')
    .addHelpText('after', '\nExample:\n  yagura assets delete setup')
    .action(async (name: string, flags: ServerFlags) => {
      await ServerClient.from(flags).request('DELETE', `/api/v1/assets/${encodeURIComponent(name)}`);
      process.stdout.write(`deleted asset ${name}\n`);
    });
}

function metaPath(name: string): string {
  return `/api/v1/assets/${encodeURIComponent(name)}/meta`;
}
