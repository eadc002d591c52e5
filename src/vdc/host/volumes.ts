/**
 * A VM node's volumes as files, in placemat's layout:
 * `<data dir or DeviceClass path>/volumes/<node>/<volume>.img`.
 *
 *   const attached = await prepareVolumes(node, { dataDir, deviceClasses, images });
 *
 * Disks persist: an existing volume file is used as it is (a seed disk is
 * rebuilt when its user-data or network-config is newer). A new file is made
 * under a temporary name and renamed into place, so a `dc up` interrupted
 * halfway never leaves a half-made disk that a later run would take as done.
 *
 * - image, copy-on-write: a qcow2 overlay on the cached image (the image's
 *   format probed with qemu-img, and recorded in the overlay)
 * - image: a full copy of the cached image, in the image's format
 * - raw: `qemu-img create -f <format> <size>` (sparse)
 * - localds: a cloud-init NoCloud seed made by cloud-localds (cloud-image-utils)
 * - hostPath: the directory is created when missing; shared by 9p
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../lib/errors.js';
import type { DeviceClass, VmNode, Volume } from '../spec/index.js';
import { requireExecutable } from './executables.js';
import type { ImageSource } from './images.js';
import type { AttachedVolume } from './qemu-args.js';

const execFileAsync = promisify(execFile);

export interface VolumeContext {
  /** The data center's data directory (volumes, NVRAM). */
  dataDir: string;
  deviceClasses?: readonly DeviceClass[];
  images: ImageSource;
  /** Where qemu-img and cloud-localds are looked up (default: PATH and the sbin directories). */
  searchPath?: readonly string[];
}

type DiskVolume = Exclude<Volume, { kind: 'hostPath' }>;

/** Where a disk volume's file lives. */
export function volumeFile(
  nodeName: string,
  volume: DiskVolume,
  context: Pick<VolumeContext, 'dataDir' | 'deviceClasses'>,
): string {
  let root = context.dataDir;
  if (volume.deviceClass !== undefined) {
    const deviceClass = context.deviceClasses?.find((candidate) => candidate.name === volume.deviceClass);
    if (!deviceClass)
      throw new UserError(`volume ${volume.name} of node ${nodeName}: unknown device class "${volume.deviceClass}"`);
    root = deviceClass.path;
  }
  return join(root, 'volumes', nodeName, `${volume.name}.img`);
}

/** Makes the node's volumes that do not exist yet; returns them, in order, as QEMU attaches them. */
export async function prepareVolumes(node: VmNode, context: VolumeContext): Promise<AttachedVolume[]> {
  const attached: AttachedVolume[] = [];
  for (const volume of node.volumes) {
    if (volume.kind === 'hostPath') {
      await mkdir(volume.path, { recursive: true });
      attached.push({ kind: 'hostPath', name: volume.name, path: volume.path, writable: volume.writable });
      continue;
    }
    const path = volumeFile(node.name, volume, context);
    const what = `volume ${volume.name} of node ${node.name}`;
    try {
      const format = await prepareDisk(volume, path, what, context);
      attached.push({ kind: 'disk', name: volume.name, path, format, cache: volume.cache });
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError(`${what}: ${(error as Error).message}`);
    }
  }
  return attached;
}

/** Makes the disk when needed and returns the format QEMU must open it with. */
async function prepareDisk(volume: DiskVolume, path: string, what: string, context: VolumeContext): Promise<string> {
  switch (volume.kind) {
    case 'raw':
      if (!(await exists(path))) {
        await atomically(path, (temporary) =>
          qemuImg(context, what, ['create', '-q', '-f', volume.format, temporary, String(volume.sizeBytes)]),
        );
      }
      return volume.format;
    case 'image': {
      // The format comes from the cached image, never from the volume: a guest can write any header to its own disk.
      // Absolute: qemu-img resolves a relative backing file against the overlay's directory.
      const image = resolve(await context.images.path(volume.image));
      const imageFormat = await probeFormat(context, what, image);
      if (volume.copyOnWrite) {
        if (!(await exists(path))) {
          await atomically(path, (temporary) =>
            qemuImg(context, what, ['create', '-q', '-f', 'qcow2', '-F', imageFormat, '-b', image, temporary]),
          );
        }
        return 'qcow2';
      }
      if (!(await exists(path))) await atomically(path, (temporary) => copyFile(image, temporary));
      return imageFormat;
    }
    case 'localds': {
      const inputs = [volume.userData, ...(volume.networkConfig === undefined ? [] : [volume.networkConfig])];
      for (const input of inputs) if (!(await exists(input))) throw new UserError(`${what}: the file ${input} does not exist`);
      if (await isOlderThan(path, inputs)) {
        const tool = requireExecutable('cloud-localds', 'cloud-image-utils', `${what} (localds)`, context.searchPath);
        const networkConfig = volume.networkConfig === undefined ? [] : [`--network-config=${volume.networkConfig}`];
        await atomically(path, (temporary) => run(tool, [...networkConfig, temporary, volume.userData], what), true);
      }
      return 'raw';
    }
  }
}

/** The image format qemu-img detects (qcow2, raw, vmdk, …). */
async function probeFormat(context: VolumeContext, what: string, image: string): Promise<string> {
  const output = await qemuImg(context, what, ['info', '--output=json', image]);
  const format = (JSON.parse(output) as { format?: unknown }).format;
  if (typeof format !== 'string') throw new UserError(`${what}: qemu-img could not tell the format of ${image}`);
  return format;
}

function qemuImg(context: VolumeContext, what: string, args: string[]): Promise<string> {
  return run(requireExecutable('qemu-img', 'qemu-utils', what, context.searchPath), args, what);
}

async function run(tool: string, args: string[], what: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(tool, args, { maxBuffer: 16 << 20 });
    return stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new UserError(`${what}: ${basename(tool)} ${args[0] ?? ''} failed: ${stderr || (error as Error).message}`);
  }
}

/**
 * Makes `path` by writing a temporary file next to it and renaming it into
 * place. Leftovers of interrupted earlier attempts are removed first.
 * `replace` allows overwriting an existing file (a rebuilt seed disk).
 */
async function atomically(path: string, make: (temporary: string) => Promise<unknown>, replace = false): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true });
  const prefix = `${basename(path)}.tmp-`;
  for (const entry of await readdir(directory)) if (entry.startsWith(prefix)) await rm(join(directory, entry), { force: true });
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await make(temporary);
    if (!replace && (await exists(path))) throw new UserError(`${path} appeared while it was being made`);
    await rename(temporary, path);
  } finally {
    await rm(temporary, { force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Whether `path` is missing or older than any of `inputs`. */
async function isOlderThan(path: string, inputs: readonly string[]): Promise<boolean> {
  const made = await stat(path).catch(() => undefined);
  if (!made) return true;
  for (const input of inputs) if ((await stat(input)).mtimeMs > made.mtimeMs) return true;
  return false;
}
