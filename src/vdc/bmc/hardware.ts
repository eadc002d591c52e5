/**
 * The hardware a virtual BMC watches: one machine's drives, power supplies,
 * fans and memory modules, each healthy ("OK") or broken ("Critical"). A VM
 * has no such parts, so they are modelled here, and `yagura dc fault` breaks
 * or mends them at runtime; the BMC's Redfish service reports them the way an
 * iDRAC does (redfish/hardware-resources.ts), so the monitor that reads real
 * servers reads these too.
 *
 * Each part has a short name for people (drive0, psu1, fan2, dimm3: kind and
 * index from 0) and the id an iDRAC would give it (Disk.Direct.0-0:…,
 * PSU.Slot.2, Fan.Embedded.3, DIMM.Socket.A4). No I/O here.
 */

export const PART_KINDS = ['drive', 'psu', 'fan', 'dimm'] as const;
export type PartKind = (typeof PART_KINDS)[number];

/** Redfish Status.Health values a part can have here (real BMCs also say Warning). */
export type PartHealth = 'OK' | 'Critical';

/** How many parts of each kind a machine has. */
export type HardwareLayout = Record<PartKind, number>;

/** What every virtual machine has unless told otherwise: a mirrored pair of boot drives, redundant PSUs, four fans and four DIMMs. */
export const STANDARD_LAYOUT: HardwareLayout = { drive: 2, psu: 2, fan: 4, dimm: 4 };

/** The storage controller the drives hang off, as iDRAC names a board's SATA (AHCI) controller. */
export const STORAGE_CONTROLLER_ID = 'AHCI.Embedded.1-1';

export interface Part {
  /** drive0, psu1, fan2, dimm3: what `yagura dc fault` takes. */
  name: string;
  kind: PartKind;
  index: number;
  /** The Redfish Id (drives, DIMMs) or MemberId (PSUs, fans). */
  redfishId: string;
  health: PartHealth;
}

export class UnknownPartError extends Error {
  override name = 'UnknownPartError';
}

export function partName(kind: PartKind, index: number): string {
  return `${kind}${index}`;
}

/** Every part of a layout, healthy, in kind order (drives, PSUs, fans, DIMMs). */
export function partsOf(layout: HardwareLayout): Part[] {
  return PART_KINDS.flatMap((kind) =>
    Array.from({ length: layout[kind] }, (_, index) => ({
      name: partName(kind, index),
      kind,
      index,
      redfishId: redfishIdOf(kind, index),
      health: 'OK' as const,
    })),
  );
}

/** The worst health among the parts; no parts at all is OK. */
export function worstHealth(parts: readonly Pick<Part, 'health'>[]): PartHealth {
  return parts.some((part) => part.health !== 'OK') ? 'Critical' : 'OK';
}

/** One machine's parts and their health, changed by fault injection. */
export class MachineHardware {
  private readonly byName = new Map<string, Part>();
  /** Megabytes of memory the DIMMs share (the VM's memory). */
  readonly memoryMiB: number;

  constructor(options: { layout?: HardwareLayout; memoryMiB?: number } = {}) {
    for (const part of partsOf(options.layout ?? STANDARD_LAYOUT)) this.byName.set(part.name, part);
    this.memoryMiB = options.memoryMiB ?? 16 * 1024;
  }

  /** Copies: changing them changes nothing. */
  parts(kind?: PartKind): Part[] {
    return [...this.byName.values()].filter((part) => kind === undefined || part.kind === kind).map((part) => ({ ...part }));
  }

  part(name: string): Part {
    const part = this.byName.get(name);
    if (part === undefined)
      throw new UnknownPartError(`no part "${name}" (parts: ${[...this.byName.keys()].join(', ') || 'none'})`);
    return { ...part };
  }

  /** Sets a part's health; returns the part as it is now and what it was. */
  setHealth(name: string, health: PartHealth): { part: Part; was: PartHealth } {
    const was = this.part(name).health;
    this.byName.get(name)!.health = health;
    return { part: this.part(name), was };
  }

  /** The worst health of the given kinds' parts (all kinds by default). */
  rollup(kinds: readonly PartKind[] = PART_KINDS): PartHealth {
    return worstHealth(this.parts().filter((part) => kinds.includes(part.kind)));
  }
}

function redfishIdOf(kind: PartKind, index: number): string {
  switch (kind) {
    case 'drive':
      return `Disk.Direct.${index}-${index}:${STORAGE_CONTROLLER_ID}`;
    case 'psu':
      return `PSU.Slot.${index + 1}`;
    case 'fan':
      return `Fan.Embedded.${index + 1}`;
    case 'dimm':
      return `DIMM.Socket.A${index + 1}`;
  }
}
