/**
 * `yagura images <verb>`: the OS images machines netboot (sabakan's
 * /api/v1/images/coreos). An upload is a tar of exactly `kernel` and
 * `initrd.gz`, built here on the fly from the two files and streamed with its
 * exact length, so no temporary tar is written and nothing is held in memory.
 */
import { Command } from 'commander';
import { IMAGE_OS, type ImageEntry } from '../boot/image-model.js';
import { TAR_END, tarHeader, tarPadding, tarSize } from '../boot/tar.js';
import {
  type LocalFile,
  type ServerFlags,
  ServerClient,
  commandGroup,
  formatBytes,
  openLocalFile,
  readWhole,
} from './client/index.js';
import { type OutputFormat, outputOption, printJson, printTable } from './table.js';

/** An index entry as GET /api/v1/images/coreos lists it. */
interface ImageListing extends ImageEntry {
  exists: boolean;
}

const IMAGES = `/api/v1/images/${IMAGE_OS}`;

export function imagesCommand(): Command {
  return commandGroup('images', 'upload, list and delete the OS images (kernel + initrd) machines netboot', [
    uploadVerb(),
    listVerb(),
    deleteVerb(),
  ]).addHelpText(
    'after',
    `
Examples:
  yagura images upload 3815.2.0 --kernel vmlinuz --initrd initrd.img
  yagura images list
  yagura images delete 3510.2.0

Machines boot the newest image; a server keeps the newest --image-keep of them
(5 by default) and copies each from a peer that has it.`,
  );
}

function uploadVerb(): Command {
  return new Command('upload')
    .description('upload an image: a kernel and an initrd under a new ID (IDs are immutable)')
    .argument('<id>', 'image ID, e.g. the OS version: 1–128 characters of [A-Za-z0-9._-]')
    .requiredOption('--kernel <file>', 'the kernel (e.g. vmlinuz)')
    .requiredOption('--initrd <file>', 'the initrd (stored as initrd.gz whatever its compression)')
    .addHelpText(
      'after',
      `
The two files are sent as a tar streamed on the fly. On a terminal, progress
is shown on stderr while a large upload runs; either way one line on stderr
says what was sent. Uploading the same files under an existing ID again
changes nothing; other files under an existing or recently deleted ID are refused.

Example:
  yagura images upload 3815.2.0 --kernel flatcar_production_pxe.vmlinuz --initrd flatcar_production_pxe_image.cpio.gz`,
    )
    .action(async (id: string, flags: ServerFlags & { kernel: string; initrd: string }) => {
      const members = [
        { name: 'kernel', flag: '--kernel', path: flags.kernel },
        { name: 'initrd.gz', flag: '--initrd', path: flags.initrd },
      ];
      const files: (LocalFile & { name: string })[] = [];
      try {
        for (const member of members)
          files.push({ ...member, ...(await openLocalFile(member.path, `${member.flag} ${member.path}`)) });
        const length = tarSize(files.map((f) => f.size));
        const reply = await ServerClient.from(flags).upload('PUT', `${IMAGES}/${encodeURIComponent(id)}`, {
          label: `image ${id}`,
          contentType: 'application/x-tar',
          length,
          body: imageTar(files),
        });
        const size = formatBytes(files.reduce((sum, f) => sum + f.size, 0));
        process.stdout.write(
          reply.status === 201
            ? `uploaded image ${id} (${size})\n`
            : `image ${id} is already on the server with the same files: nothing changed\n`,
        );
      } finally {
        await Promise.all(files.map((f) => f.handle.close().catch(() => {})));
      }
    });
}

/** The ustar archive of the image files, read from their open handles. */
async function* imageTar(files: (LocalFile & { name: string })[]): AsyncGenerator<Buffer> {
  for (const file of files) {
    yield tarHeader({ name: file.name, size: file.size, mtime: file.mtime });
    yield* readWhole(file);
    yield tarPadding(file.size);
  }
  yield TAR_END;
}

const LIST_HEADERS = ['ID', 'DATE', 'SIZE', 'EXISTS', 'URLS'];

function listVerb(): Command {
  return new Command('list')
    .description('list the images, oldest first (machines boot the last)')
    .addOption(outputOption())
    .addHelpText(
      'after',
      `
EXISTS says whether the server asked holds a copy; URLS counts the servers that do.

Examples:
  yagura images list
  yagura images list -o json`,
    )
    .action(async (flags: ServerFlags & { output: OutputFormat }) => {
      const images = await ServerClient.from(flags).getJson<ImageListing[]>(IMAGES);
      if (flags.output === 'json') return printJson(images);
      if (images.length === 0) {
        process.stderr.write('no images\n');
        return;
      }
      printTable(
        LIST_HEADERS,
        images.map((image) => [
          image.id,
          shortDate(image.date),
          formatBytes(image.size),
          image.exists ? 'yes' : 'no',
          String(image.urls.length),
        ]),
      );
    });
}

function deleteVerb(): Command {
  return new Command('delete')
    .description('delete an image on every server (its ID cannot be reused for a while)')
    .argument('<id>', 'image ID')
    .addHelpText('after', '\nExample:\n  yagura images delete 3510.2.0')
    .action(async (id: string, flags: ServerFlags) => {
      await ServerClient.from(flags).request('DELETE', `${IMAGES}/${encodeURIComponent(id)}`);
      process.stdout.write(`deleted image ${id}\n`);
    });
}

/** An ISO 8601 time to the second: 2030-01-31T09:00:00Z. */
export function shortDate(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z');
}
