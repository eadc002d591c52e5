/**
 * Hardware rules: how many of a machine's parts must be healthy, per kind of
 * part and per machine type, as sabakan-state-setter's per-type metric rules
 * with `minimum-healthy-count` (reference neco.md §A4). Given the parts a BMC
 * reported (redfish-hardware.ts), `failedHardwareRules` says in words which
 * rules fail; the state setter turns a machine with any failure unhealthy.
 *
 * A part counts as healthy only when its BMC says Health "OK": Warning,
 * Critical and no answer at all do not. Pure: no I/O.
 */

export const HARDWARE_KINDS = ['drive', 'psu', 'fan', 'memory'] as const;
export type HardwareKind = (typeof HARDWARE_KINDS)[number];

/** Redfish Status.Health, or Unknown when the BMC gave none. */
export type PartHealth = 'OK' | 'Warning' | 'Critical' | 'Unknown';

/** One part as its BMC reported it. */
export interface HardwareReading {
  kind: HardwareKind;
  /** The BMC's id for it: a Redfish Id (Disk.Bay.0:…, DIMM.Socket.A1) or MemberId (PSU.Slot.1). */
  id: string;
  health: PartHealth;
}

/**
 * What one kind of part needs. Both bounds may be given; the stricter wins.
 * A kind without a rule is not judged.
 */
export interface KindRule {
  /** At least this many parts of the kind healthy (so also: at least this many present). */
  minHealthy?: number;
  /** At most this many of the parts found may be unhealthy; 0 means every one must be healthy. */
  maxUnhealthy?: number;
}

export type HardwareRules = Partial<Record<HardwareKind, KindRule>>;

/**
 * The rules for machine types that have none of their own: every drive
 * healthy (a node's data lives on them), one power supply of however many
 * (the other is redundancy), every fan but one (servers keep cool with N+1
 * fans) and every memory module (a failed DIMM takes memory away and often
 * brings machine-check errors).
 */
export const DEFAULT_HARDWARE_RULES: HardwareRules = {
  drive: { maxUnhealthy: 0 },
  psu: { minHealthy: 1 },
  fan: { maxUnhealthy: 1 },
  memory: { maxUnhealthy: 0 },
};

const NOUNS: Record<HardwareKind, string> = { drive: 'drives', psu: 'power supplies', fan: 'fans', memory: 'memory modules' };

/**
 * The rules that fail, one sentence each: "1 of 2 drives healthy, need 2".
 * Empty when the machine passes.
 */
export function failedHardwareRules(readings: readonly HardwareReading[], rules: HardwareRules): string[] {
  const failures: string[] = [];
  for (const kind of HARDWARE_KINDS) {
    const rule = rules[kind];
    if (rule === undefined) continue;
    const parts = readings.filter((reading) => reading.kind === kind);
    const healthy = parts.filter((reading) => reading.health === 'OK').length;
    const need = Math.max(rule.minHealthy ?? 0, rule.maxUnhealthy === undefined ? 0 : parts.length - rule.maxUnhealthy);
    if (healthy < need) failures.push(`${healthy} of ${parts.length} ${NOUNS[kind]} healthy, need ${need}`);
  }
  return failures;
}

/** A machine type's rules: its own rule for a kind where it has one, else the default rule. */
export function hardwareRulesFor(
  machineType: string,
  byType: Readonly<Record<string, HardwareRules>>,
  defaults: HardwareRules = DEFAULT_HARDWARE_RULES,
): HardwareRules {
  const own = Object.hasOwn(byType, machineType) ? byType[machineType]! : {};
  return { ...defaults, ...own };
}

/**
 * Rules from a configuration value (JSON or YAML), checked: an object of
 * kinds, each with minHealthy and/or maxUnhealthy as whole numbers ≥ 0.
 * Throws an Error naming the field (`where` prefixes it: "hardware-rules.qemu").
 */
export function parseHardwareRules(value: unknown, where: string): HardwareRules {
  if (!isRecord(value)) throw new Error(`${where}: must be an object of part kinds (${HARDWARE_KINDS.join(', ')})`);
  const rules: HardwareRules = {};
  for (const [kind, raw] of Object.entries(value)) {
    if (!(HARDWARE_KINDS as readonly string[]).includes(kind))
      throw new Error(`${where}.${kind}: unknown part kind; use ${HARDWARE_KINDS.join(', ')}`);
    if (!isRecord(raw)) throw new Error(`${where}.${kind}: must be an object with minHealthy and/or maxUnhealthy`);
    const rule: KindRule = {};
    for (const [key, bound] of Object.entries(raw)) {
      if (key !== 'minHealthy' && key !== 'maxUnhealthy')
        throw new Error(`${where}.${kind}.${key}: unknown field; use minHealthy or maxUnhealthy`);
      if (typeof bound !== 'number' || !Number.isInteger(bound) || bound < 0)
        throw new Error(`${where}.${kind}.${key}: must be a whole number ≥ 0, not ${JSON.stringify(bound)}`);
      rule[key] = bound;
    }
    if (Object.keys(rule).length === 0) throw new Error(`${where}.${kind}: give minHealthy, maxUnhealthy or both`);
    rules[kind as HardwareKind] = rule;
  }
  return rules;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
