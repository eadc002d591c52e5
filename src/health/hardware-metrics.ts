/**
 * The hardware monitor's readings as Prometheus metrics, as monitor-hw
 * exports its hw_* gauges:
 *
 *   yagura_hardware_part_healthy{serial,kind,part}   1 when the BMC says OK, else 0
 *   yagura_hardware_read_errors_total{serial}         reads of the machine's BMC that failed
 *
 * A machine's parts that a new reading no longer has are dropped, so a
 * replaced drive with a new id leaves no stale series behind.
 */
import { Gauge, type Registry } from 'prom-client';
import { counterIn } from '../lib/metrics.js';
import type { HardwareReading } from './hardware-rules.js';

export const PART_HEALTHY = 'yagura_hardware_part_healthy';
export const READ_ERRORS = 'yagura_hardware_read_errors_total';

type PartLabels = { serial: string; kind: string; part: string };

/** The part series last exported per machine, per gauge (a registry may hold one of several servers' gauges in tests). */
const exported = new WeakMap<Gauge, Map<string, PartLabels[]>>();

/** Sets the machine's part gauges to this reading. */
export function exportHardwareReadings(registry: Registry, serial: string, readings: readonly HardwareReading[]): void {
  const gauge = partGauge(registry);
  const now = readings.map((reading) => ({ serial, kind: reading.kind, part: reading.id }));
  const kept = new Set(now.map(key));
  for (const old of exportedOf(gauge).get(serial) ?? []) if (!kept.has(key(old))) gauge.remove(old);
  readings.forEach((reading, i) => gauge.set(now[i]!, reading.health === 'OK' ? 1 : 0));
  exportedOf(gauge).set(serial, now);
}

/** Counts a failed read of the machine's BMC; its part gauges keep their last values. */
export function countHardwareReadError(registry: Registry, serial: string): void {
  counterIn(registry, READ_ERRORS, "Reads of a machine's BMC hardware health that failed", ['serial']).inc({ serial });
}

/** Drops a machine's part gauges (it is gone from the inventory, or no longer watched). */
export function forgetHardwareReadings(registry: Registry, serial: string): void {
  const gauge = partGauge(registry);
  for (const old of exportedOf(gauge).get(serial) ?? []) gauge.remove(old);
  exportedOf(gauge).delete(serial);
}

function partGauge(registry: Registry): Gauge<'serial' | 'kind' | 'part'> {
  return (
    (registry.getSingleMetric(PART_HEALTHY) as Gauge<'serial' | 'kind' | 'part'> | undefined) ??
    new Gauge({
      name: PART_HEALTHY,
      help: "1 when the machine's BMC reports the part healthy (Health OK), 0 otherwise",
      labelNames: ['serial', 'kind', 'part'],
      registers: [registry],
    })
  );
}

function exportedOf(gauge: Gauge): Map<string, PartLabels[]> {
  let map = exported.get(gauge);
  if (map === undefined) exported.set(gauge, (map = new Map()));
  return map;
}

function key(labels: PartLabels): string {
  return `${labels.kind}\u0000${labels.part}`;
}
