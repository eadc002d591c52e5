/**
 * The iPXE scripts of the boot chain (pure text): a chain script every iPXE
 * client gets from DHCP, which hands off to a per-machine script chosen by the
 * SMBIOS serial iPXE reads from the firmware; that script loads the newest
 * image's kernel and initrd with the kernel parameters and the URL of the
 * machine's rendered configuration.
 */

export interface BootPaths {
  /** e.g. http://10.69.0.3:10080 — how machines reach this server. */
  advertiseUrl: string;
}

export const BOOT_BASE = '/api/v1/boot';
export const OS = 'coreos';

export function chainScriptPath(): string {
  return `${BOOT_BASE}/${OS}/ipxe`;
}

/** Hands off to the per-machine script; `${serial}` is expanded by iPXE, not by us. */
export function chainScript(paths: BootPaths): string {
  return ['#!ipxe', `chain --autofree ${paths.advertiseUrl}${BOOT_BASE}/${OS}/ipxe/\${serial}`, ''].join('\n');
}

/** What the per-machine choice looks at, gathered by the caller. */
export interface MachineBootInputs {
  /** The SMBIOS serial the machine asked with. */
  serial: string;
  /** The registered machine's role; undefined when no machine has this serial. */
  role: string | undefined;
  /** The newest image this server holds, if any. */
  imageId: string | undefined;
  /** The newest configuration template of the machine's role, if it has one. */
  template: string | undefined;
  kernelParams: string;
}

export type MachineBootChoice =
  | { kind: 'boot'; status: 200; script: string }
  /** Not registered: a message on the console and a retry (counted and logged by the caller). */
  | { kind: 'unknown-machine'; status: 404; script: string }
  /** Registered, but this server has no image to boot yet: a message and a retry. */
  | { kind: 'no-image'; status: 404; script: string };

/**
 * The script a machine gets from /api/v1/boot/coreos/ipxe/<serial>: an
 * unknown serial or a server without an image gets a message and a retry,
 * a registered machine its boot script, with the Ignition config URL of its
 * role's newest template when there is one.
 */
export function machineBootChoice(paths: BootPaths, inputs: MachineBootInputs): MachineBootChoice {
  const { serial, role, imageId, template } = inputs;
  if (role === undefined) return { kind: 'unknown-machine', status: 404, script: unknownMachineScript(serial) };
  if (!imageId) return { kind: 'no-image', status: 404, script: noImageScript() };
  const configUrl = template
    ? `${paths.advertiseUrl}${BOOT_BASE}/ignitions/${encodeURIComponent(serial)}/${encodeURIComponent(template)}`
    : undefined;
  return {
    kind: 'boot',
    status: 200,
    script: machineScript(paths, { serial, imageId, kernelParams: inputs.kernelParams, configUrl }),
  };
}

export interface MachineBoot {
  serial: string;
  /** Image ID, so that a kernel and initrd of one image are fetched together. */
  imageId: string;
  kernelParams: string;
  /** URL of the machine's rendered configuration, if its role has a template. */
  configUrl?: string;
}

export function machineScript(paths: BootPaths, boot: MachineBoot): string {
  const base = `${paths.advertiseUrl}${BOOT_BASE}/${OS}`;
  const args = ['initrd=initrd.gz', `yagura.serial=${boot.serial}`];
  if (boot.configUrl) args.push('ignition.firstboot', 'ignition.platform.id=metal', `ignition.config.url=${boot.configUrl}`);
  if (boot.kernelParams.trim()) args.push(boot.kernelParams.trim());
  return [
    '#!ipxe',
    `echo Yagura: booting ${boot.serial} with image ${boot.imageId}`,
    `kernel ${base}/images/${encodeURIComponent(boot.imageId)}/kernel ${args.join(' ')}`,
    `initrd --name initrd.gz ${base}/images/${encodeURIComponent(boot.imageId)}/initrd.gz`,
    'boot',
    '',
  ].join('\n');
}

/** What an unknown machine gets: a clear message on its console and a retry, not a hang. */
export function unknownMachineScript(serial: string, retrySeconds = 60): string {
  return [
    '#!ipxe',
    `echo Yagura: machine serial ${serial || '(empty)'} is not registered; register it (yagura machines create) — retrying in ${retrySeconds}s`,
    `sleep ${retrySeconds}`,
    'reboot',
    '',
  ].join('\n');
}

/** What a registered machine gets while this server has no image: a message on its console and a retry. */
export function noImageScript(): string {
  return '#!ipxe\necho Yagura: no OS image has been uploaded yet\nsleep 60\nreboot\n';
}
