/**
 * The Redfish resources that report a machine's parts, in the shape an iDRAC
 * gives them (DMTF schemas Storage, Drive, Memory, Power and Thermal):
 *
 *   Systems/System.Embedded.1/Storage                       the controllers
 *   Systems/System.Embedded.1/Storage/AHCI.Embedded.1-1     one controller, Drives links
 *     …/Drives/Disk.Direct.0-0:AHCI.Embedded.1-1            a drive
 *   Systems/System.Embedded.1/Memory[/DIMM.Socket.A1]       memory modules
 *   Chassis/System.Embedded.1/Power                         PowerSupplies[]
 *   Chassis/System.Embedded.1/Thermal                       Fans[]
 *
 * Every part has Status {State: Enabled, Health: OK | Critical}; the
 * containers roll their parts' health up. Built from plain values.
 */
import { STORAGE_CONTROLLER_ID, type Part } from '../hardware.js';
import {
  ENABLED_OK,
  PATHS,
  STORAGE_CONTROLLER_PATH,
  collection,
  drivePath,
  header,
  link,
  rolledUpStatus,
  type MachineView,
  type Resource,
} from './resources.js';

/** A few figures that make the parts look like a real server's. */
const DRIVE_BYTES = 480_103_981_056;
const PSU_WATTS = 750;
const FAN_RPM = 9000;

const ofKind = (machine: MachineView, kind: Part['kind']) => machine.parts.filter((part) => part.kind === kind);

export function storageCollection(): Resource {
  return collection(PATHS.storage, 'StorageCollection', 'Storage Collection', [STORAGE_CONTROLLER_PATH]);
}

export function storage(machine: MachineView): Resource {
  const drives = ofKind(machine, 'drive');
  return {
    ...header(STORAGE_CONTROLLER_PATH, '#Storage.v1_7_1.Storage', 'Storage.Storage'),
    Id: STORAGE_CONTROLLER_ID,
    Name: 'AHCI Controller in Embedded Slot 1',
    Description: 'Embedded SATA controller',
    Drives: drives.map((drive) => link(drivePath(drive.redfishId))),
    'Drives@odata.count': drives.length,
    StorageControllers: [
      {
        '@odata.id': `${STORAGE_CONTROLLER_PATH}#/StorageControllers/0`,
        MemberId: STORAGE_CONTROLLER_ID,
        Name: 'AHCI Controller in Embedded Slot 1',
        SupportedDeviceProtocols: ['SATA'],
        Status: ENABLED_OK,
      },
    ],
    'StorageControllers@odata.count': 1,
    Status: rolledUpStatus(machine.parts, ['drive']),
    Links: { Enclosures: [link(PATHS.chassis)] },
  };
}

export function drive(machine: MachineView, part: Part): Resource {
  return {
    ...header(drivePath(part.redfishId), '#Drive.v1_6_0.Drive', 'Drive.Drive'),
    Id: part.redfishId,
    Name: `Solid State Disk ${part.index}:${part.index}`,
    Manufacturer: 'Yagura',
    Model: 'Virtual SSD',
    SerialNumber: `${machine.serial}-D${part.index}`,
    MediaType: 'SSD',
    Protocol: 'SATA',
    CapacityBytes: DRIVE_BYTES,
    FailurePredicted: part.health !== 'OK',
    Status: { State: 'Enabled', Health: part.health },
    Links: { Chassis: link(PATHS.chassis) },
  };
}

export function memoryCollection(machine: MachineView): Resource {
  return collection(
    PATHS.memory,
    'MemoryCollection',
    'Memory Collection',
    ofKind(machine, 'dimm').map((dimm) => `${PATHS.memory}/${dimm.redfishId}`),
  );
}

export function memoryModule(machine: MachineView, part: Part): Resource {
  const dimms = ofKind(machine, 'dimm').length;
  return {
    ...header(`${PATHS.memory}/${part.redfishId}`, '#Memory.v1_7_0.Memory', 'Memory.Memory'),
    Id: part.redfishId,
    Name: `DIMM A${part.index + 1}`,
    DeviceLocator: `DIMM A${part.index + 1}`,
    MemoryDeviceType: 'DDR4',
    MemoryType: 'DRAM',
    CapacityMiB: Math.floor(machine.memoryMiB / Math.max(dimms, 1)),
    OperatingSpeedMhz: 3200,
    SerialNumber: `${machine.serial}-M${part.index}`,
    Status: { State: 'Enabled', Health: part.health },
  };
}

export function power(machine: MachineView): Resource {
  return {
    ...header(PATHS.power, '#Power.v1_5_0.Power', 'Power.Power'),
    Id: 'Power',
    Name: 'Power',
    ...embeddedParts(PATHS.power, 'PowerSupplies', ofKind(machine, 'psu'), (psu) => ({
      Name: `PS${psu.index + 1} Status`,
      PowerSupplyType: 'AC',
      PowerCapacityWatts: PSU_WATTS,
      LineInputVoltage: psu.health === 'OK' ? 230 : 0,
    })),
    Status: rolledUpStatus(machine.parts, ['psu']),
  };
}

export function thermal(machine: MachineView): Resource {
  return {
    ...header(PATHS.thermal, '#Thermal.v1_4_0.Thermal', 'Thermal.Thermal'),
    Id: 'Thermal',
    Name: 'Thermal',
    ...embeddedParts(PATHS.thermal, 'Fans', ofKind(machine, 'fan'), (fan) => ({
      Name: `System Board Fan${fan.index + 1}`,
      PhysicalContext: 'SystemBoard',
      Reading: fan.health === 'OK' ? FAN_RPM : 0,
      ReadingUnits: 'RPM',
    })),
    Status: rolledUpStatus(machine.parts, ['fan']),
  };
}

/** Parts listed inside their resource (PowerSupplies, Fans): each with a fragment id, a MemberId and a Status. */
function embeddedParts(path: string, property: string, parts: readonly Part[], describe: (part: Part) => Resource): Resource {
  return {
    [property]: parts.map((part, i) => ({
      '@odata.id': `${path}#/${property}/${i}`,
      MemberId: part.redfishId,
      ...describe(part),
      Status: { State: 'Enabled', Health: part.health },
    })),
    [`${property}@odata.count`]: parts.length,
  };
}
