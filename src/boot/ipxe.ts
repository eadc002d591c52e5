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
