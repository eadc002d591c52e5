/** Hardware rules (pure) and the readings' Prometheus metrics, with hand-made readings. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { countHardwareReadError, exportHardwareReadings, forgetHardwareReadings } from '../../src/health/hardware-metrics.js';
import {
  DEFAULT_HARDWARE_RULES,
  failedHardwareRules,
  hardwareRulesFor,
  parseHardwareRules,
  type HardwareKind,
  type HardwareReading,
  type PartHealth,
} from '../../src/health/hardware-rules.js';

/** A machine like the virtual one: 2 drives, 2 PSUs, 4 fans, 4 DIMMs, all OK unless `broken` names them. */
function machine(broken: Record<string, PartHealth> = {}): HardwareReading[] {
  const counts: [HardwareKind, number][] = [
    ['drive', 2],
    ['psu', 2],
    ['fan', 4],
    ['memory', 4],
  ];
  return counts.flatMap(([kind, n]) =>
    Array.from({ length: n }, (_, i) => ({ kind, id: `${kind}${i}`, health: broken[`${kind}${i}`] ?? 'OK' })),
  );
}

describe('hardware rules', () => {
  it('passes a healthy machine under the default rules', () => {
    assert.deepEqual(failedHardwareRules(machine(), DEFAULT_HARDWARE_RULES), []);
  });

  it('by default needs every drive and every DIMM, one power supply, and all fans but one', () => {
    const rules = DEFAULT_HARDWARE_RULES;
    assert.deepEqual(failedHardwareRules(machine({ drive0: 'Critical' }), rules), ['1 of 2 drives healthy, need 2']);
    assert.deepEqual(failedHardwareRules(machine({ memory3: 'Warning' }), rules), ['3 of 4 memory modules healthy, need 4']);
    assert.deepEqual(failedHardwareRules(machine({ psu0: 'Critical' }), rules), []);
    assert.deepEqual(failedHardwareRules(machine({ psu0: 'Critical', psu1: 'Critical' }), rules), [
      '0 of 2 power supplies healthy, need 1',
    ]);
    assert.deepEqual(failedHardwareRules(machine({ fan1: 'Critical' }), rules), []);
    assert.deepEqual(failedHardwareRules(machine({ fan1: 'Critical', fan2: 'Unknown' }), rules), ['2 of 4 fans healthy, need 3']);
    assert.deepEqual(failedHardwareRules(machine({ drive1: 'Critical', psu0: 'Critical', psu1: 'Critical' }), rules), [
      '1 of 2 drives healthy, need 2',
      '0 of 2 power supplies healthy, need 1',
    ]);
  });

  it('counts missing parts against minHealthy, takes the stricter bound, and skips kinds without a rule', () => {
    const noDrives = machine().filter((r) => r.kind !== 'drive');
    assert.deepEqual(failedHardwareRules(noDrives, DEFAULT_HARDWARE_RULES), [], 'every drive of none is healthy');
    assert.deepEqual(failedHardwareRules(noDrives, { drive: { minHealthy: 2 } }), ['0 of 0 drives healthy, need 2']);
    assert.deepEqual(failedHardwareRules(machine({ drive0: 'Critical' }), { drive: { minHealthy: 1, maxUnhealthy: 0 } }), [
      '1 of 2 drives healthy, need 2',
    ]);
    assert.deepEqual(failedHardwareRules(machine({ drive0: 'Critical' }), { psu: { minHealthy: 2 } }), []);
  });

  it("gives a machine type its own rule for a kind, and the default's for the others", () => {
    const byType = { storage: { drive: { minHealthy: 8 } }, qemu: {} };
    assert.deepEqual(hardwareRulesFor('storage', byType), { ...DEFAULT_HARDWARE_RULES, drive: { minHealthy: 8 } });
    assert.deepEqual(hardwareRulesFor('qemu', byType), DEFAULT_HARDWARE_RULES);
    assert.deepEqual(hardwareRulesFor('toString', byType), DEFAULT_HARDWARE_RULES, 'no prototype keys');
    assert.deepEqual(hardwareRulesFor('other', byType, {}), {});
  });

  it('reads rules from configuration, naming the field that is wrong', () => {
    assert.deepEqual(parseHardwareRules({ drive: { minHealthy: 7 }, fan: { maxUnhealthy: 0 } }, 'rules.ss'), {
      drive: { minHealthy: 7 },
      fan: { maxUnhealthy: 0 },
    });
    assert.throws(() => parseHardwareRules([], 'rules.ss'), /^Error: rules\.ss: must be an object of part kinds/);
    assert.throws(
      () => parseHardwareRules({ disk: {} }, 'r'),
      /^Error: r\.disk: unknown part kind; use drive, psu, fan, memory$/,
    );
    assert.throws(() => parseHardwareRules({ drive: { min: 1 } }, 'r'), /^Error: r\.drive\.min: unknown field/);
    assert.throws(
      () => parseHardwareRules({ drive: { minHealthy: -1 } }, 'r'),
      /r\.drive\.minHealthy: must be a whole number ≥ 0, not -1/,
    );
    assert.throws(() => parseHardwareRules({ psu: { minHealthy: 1.5 } }, 'r'), /not 1\.5/);
    assert.throws(() => parseHardwareRules({ psu: {} }, 'r'), /r\.psu: give minHealthy, maxUnhealthy or both/);
  });
});

describe('hardware metrics', () => {
  const series = async (registry: Registry, name: string): Promise<Record<string, string | number>[]> =>
    ((await registry.getSingleMetric(name)?.get())?.values ?? []).map((v) => ({ ...v.labels, value: v.value }));

  it('exports a gauge per part, 1 when OK, and drops parts a new reading no longer has', async () => {
    const registry = new Registry();
    exportHardwareReadings(registry, 'SN1', [
      { kind: 'drive', id: 'Disk.0', health: 'OK' },
      { kind: 'drive', id: 'Disk.1', health: 'Critical' },
    ]);
    exportHardwareReadings(registry, 'SN2', [{ kind: 'psu', id: 'PSU.Slot.1', health: 'Warning' }]);
    assert.deepEqual(await series(registry, 'yagura_hardware_part_healthy'), [
      { serial: 'SN1', kind: 'drive', part: 'Disk.0', value: 1 },
      { serial: 'SN1', kind: 'drive', part: 'Disk.1', value: 0 },
      { serial: 'SN2', kind: 'psu', part: 'PSU.Slot.1', value: 0 },
    ]);
    exportHardwareReadings(registry, 'SN1', [
      { kind: 'drive', id: 'Disk.0', health: 'OK' },
      { kind: 'drive', id: 'Disk.2', health: 'OK' },
    ]);
    assert.deepEqual(
      (await series(registry, 'yagura_hardware_part_healthy')).filter((s) => s.serial === 'SN1').map((s) => s.part),
      ['Disk.0', 'Disk.2'],
    );
    forgetHardwareReadings(registry, 'SN1');
    assert.deepEqual(
      (await series(registry, 'yagura_hardware_part_healthy')).map((s) => s.serial),
      ['SN2'],
    );
  });

  it('counts read errors per machine', async () => {
    const registry = new Registry();
    countHardwareReadError(registry, 'SN1');
    countHardwareReadError(registry, 'SN1');
    countHardwareReadError(registry, 'SN2');
    assert.deepEqual(await series(registry, 'yagura_hardware_read_errors_total'), [
      { serial: 'SN1', value: 2 },
      { serial: 'SN2', value: 1 },
    ]);
    assert.match(await registry.metrics(), /^# TYPE yagura_hardware_read_errors_total counter$/m);
  });
});
