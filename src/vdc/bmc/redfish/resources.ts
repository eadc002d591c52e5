/**
 * The Redfish resources a virtual BMC serves, built from plain values. The
 * shape follows a Dell iDRAC (as placemat does): one ComputerSystem and one
 * Chassis named System.Embedded.1, managed by iDRAC.Embedded.1, so scripts
 * written for the real racks work here unchanged.
 */
import { STORAGE_CONTROLLER_ID, worstHealth, type Part, type PartKind } from '../hardware.js';
import type { BootOverride, PowerState } from '../machine.js';

export const SYSTEM_ID = 'System.Embedded.1';
export const CHASSIS_ID = 'System.Embedded.1';
export const MANAGER_ID = 'iDRAC.Embedded.1';

export const PATHS = {
  root: '/redfish/v1',
  systems: '/redfish/v1/Systems',
  system: `/redfish/v1/Systems/${SYSTEM_ID}`,
  systemReset: `/redfish/v1/Systems/${SYSTEM_ID}/Actions/ComputerSystem.Reset`,
  chassisCollection: '/redfish/v1/Chassis',
  chassis: `/redfish/v1/Chassis/${CHASSIS_ID}`,
  chassisReset: `/redfish/v1/Chassis/${CHASSIS_ID}/Actions/Chassis.Reset`,
  managers: '/redfish/v1/Managers',
  manager: `/redfish/v1/Managers/${MANAGER_ID}`,
  sessionService: '/redfish/v1/SessionService',
  sessions: '/redfish/v1/SessionService/Sessions',
  storage: `/redfish/v1/Systems/${SYSTEM_ID}/Storage`,
  memory: `/redfish/v1/Systems/${SYSTEM_ID}/Memory`,
  power: `/redfish/v1/Chassis/${CHASSIS_ID}/Power`,
  thermal: `/redfish/v1/Chassis/${CHASSIS_ID}/Thermal`,
  accountService: '/redfish/v1/AccountService',
  accounts: '/redfish/v1/AccountService/Accounts',
  roles: '/redfish/v1/AccountService/Roles',
} as const;

export const SYSTEM_RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'ForceRestart', 'PowerCycle'] as const;
export const CHASSIS_RESET_TYPES = ['On', 'ForceOff'] as const;
export type ResetType = (typeof SYSTEM_RESET_TYPES)[number];

export const BOOT_TARGETS = ['None', 'Pxe', 'Hdd'] as const;
export const BOOT_ENABLED = ['Once', 'Continuous', 'Disabled'] as const;
export type BootTarget = (typeof BOOT_TARGETS)[number];
export type BootEnabled = (typeof BOOT_ENABLED)[number];

/** How long a session lives without being used (iDRAC's default). */
export const SESSION_TIMEOUT_SECONDS = 1800;

/** What the ComputerSystem and Chassis resources report about the machine. */
export interface MachineView {
  name: string;
  serial: string;
  power: PowerState;
  bootOverride: BootOverride | undefined;
  /** The machine's parts (hardware.ts); they decide Status.Health and HealthRollup. */
  parts: readonly Part[];
  memoryMiB: number;
}

export interface SessionView {
  id: string;
  userName: string;
}

export type Resource = Record<string, unknown>;

export const link = (path: string) => ({ '@odata.id': path });

export function header(path: string, type: string, context: string): Resource {
  return {
    '@odata.context': `/redfish/v1/$metadata#${context}`,
    '@odata.id': path,
    '@odata.type': type,
  };
}

export function collection(path: string, type: string, name: string, members: string[]): Resource {
  return {
    ...header(path, `#${type}.${type}`, `${type}.${type}`),
    Name: name,
    Members: members.map(link),
    'Members@odata.count': members.length,
  };
}

const redfishPower = (power: PowerState) => (power === 'on' ? 'On' : 'Off');
export const ENABLED_OK = { State: 'Enabled', Health: 'OK' };

/**
 * Status of a resource that contains parts. Like iDRAC, Health and
 * HealthRollup both say the worst of the parts: a broken drive makes the
 * whole system Critical, which is what a quick look at a server should show.
 */
export function rolledUpStatus(parts: readonly Part[], kinds: readonly PartKind[]): Resource {
  const health = worstHealth(parts.filter((part) => kinds.includes(part.kind)));
  return { State: 'Enabled', Health: health, HealthRollup: health };
}

/** What a chassis holds: the power supplies, the fans and the drive bays. */
const CHASSIS_PARTS: readonly PartKind[] = ['psu', 'fan', 'drive'];
const ALL_PARTS: readonly PartKind[] = ['drive', 'psu', 'fan', 'dimm'];

/** GET /redfish: which protocol versions the service speaks. */
export function versions(): Resource {
  return { v1: `${PATHS.root}/` };
}

export function serviceRoot(): Resource {
  return {
    ...header(PATHS.root, '#ServiceRoot.v1_5_0.ServiceRoot', 'ServiceRoot.ServiceRoot'),
    Id: 'RootService',
    Name: 'Root Service',
    RedfishVersion: '1.6.0',
    Vendor: 'Yagura',
    Product: 'Yagura virtual BMC',
    Systems: link(PATHS.systems),
    Chassis: link(PATHS.chassisCollection),
    Managers: link(PATHS.managers),
    SessionService: link(PATHS.sessionService),
    AccountService: link(PATHS.accountService),
    Links: { Sessions: link(PATHS.sessions) },
  };
}

export function systemsCollection(): Resource {
  return collection(PATHS.systems, 'ComputerSystemCollection', 'Computer System Collection', [PATHS.system]);
}

export function computerSystem(machine: MachineView): Resource {
  return {
    ...header(PATHS.system, '#ComputerSystem.v1_5_0.ComputerSystem', 'ComputerSystem.ComputerSystem'),
    Id: SYSTEM_ID,
    Name: 'System',
    SystemType: 'Physical',
    HostName: machine.name,
    SerialNumber: machine.serial,
    PowerState: redfishPower(machine.power),
    Status: rolledUpStatus(machine.parts, ALL_PARTS),
    MemorySummary: {
      TotalSystemMemoryGiB: machine.memoryMiB / 1024,
      Status: rolledUpStatus(machine.parts, ['dimm']),
    },
    Storage: link(PATHS.storage),
    Memory: link(PATHS.memory),
    Boot: bootProperties(machine.bootOverride),
    Links: { Chassis: [link(PATHS.chassis)], ManagedBy: [link(PATHS.manager)] },
    Actions: {
      '#ComputerSystem.Reset': {
        target: PATHS.systemReset,
        'ResetType@Redfish.AllowableValues': [...SYSTEM_RESET_TYPES],
      },
    },
  };
}

/** The Redfish spelling of a boot override; no override reads as None/Disabled. */
export function bootProperties(override: BootOverride | undefined): Resource {
  const target: BootTarget = override === undefined ? 'None' : override.device === 'pxe' ? 'Pxe' : 'Hdd';
  const enabled: BootEnabled = override === undefined ? 'Disabled' : override.once ? 'Once' : 'Continuous';
  return {
    BootSourceOverrideTarget: target,
    BootSourceOverrideEnabled: enabled,
    'BootSourceOverrideTarget@Redfish.AllowableValues': [...BOOT_TARGETS],
    'BootSourceOverrideEnabled@Redfish.AllowableValues': [...BOOT_ENABLED],
  };
}

export function chassisCollection(): Resource {
  return collection(PATHS.chassisCollection, 'ChassisCollection', 'Chassis Collection', [PATHS.chassis]);
}

export function chassis(machine: MachineView): Resource {
  return {
    ...header(PATHS.chassis, '#Chassis.v1_6_0.Chassis', 'Chassis.Chassis'),
    Id: CHASSIS_ID,
    Name: 'Computer System Chassis',
    ChassisType: 'RackMount',
    SerialNumber: machine.serial,
    PowerState: redfishPower(machine.power),
    Status: rolledUpStatus(machine.parts, CHASSIS_PARTS),
    Power: link(PATHS.power),
    Thermal: link(PATHS.thermal),
    Links: {
      ComputerSystems: [link(PATHS.system)],
      ManagedBy: [link(PATHS.manager)],
      Drives: machine.parts.filter((part) => part.kind === 'drive').map((part) => link(drivePath(part.redfishId))),
      'Drives@odata.count': machine.parts.filter((part) => part.kind === 'drive').length,
    },
    Actions: {
      '#Chassis.Reset': {
        target: PATHS.chassisReset,
        'ResetType@Redfish.AllowableValues': [...CHASSIS_RESET_TYPES],
      },
    },
  };
}

export function managersCollection(): Resource {
  return collection(PATHS.managers, 'ManagerCollection', 'Manager Collection', [PATHS.manager]);
}

export function manager(firmwareVersion: string): Resource {
  return {
    ...header(PATHS.manager, '#Manager.v1_3_3.Manager', 'Manager.Manager'),
    Id: MANAGER_ID,
    Name: 'Manager',
    ManagerType: 'BMC',
    Model: 'Yagura virtual BMC',
    FirmwareVersion: firmwareVersion,
    Status: ENABLED_OK,
    Links: { ManagerForServers: [link(PATHS.system)], ManagerForChassis: [link(PATHS.chassis)] },
  };
}

export function sessionService(): Resource {
  return {
    ...header(PATHS.sessionService, '#SessionService.v1_1_3.SessionService', 'SessionService.SessionService'),
    Id: 'SessionService',
    Name: 'Session Service',
    ServiceEnabled: true,
    SessionTimeout: SESSION_TIMEOUT_SECONDS,
    Status: ENABLED_OK,
    Sessions: link(PATHS.sessions),
  };
}

/** The storage controller's resource; drives hang below it. */
export const STORAGE_CONTROLLER_PATH = `${PATHS.storage}/${STORAGE_CONTROLLER_ID}`;

export function drivePath(id: string): string {
  return `${STORAGE_CONTROLLER_PATH}/Drives/${id}`;
}

export function sessionPath(id: string): string {
  return `${PATHS.sessions}/${id}`;
}

export function sessionsCollection(sessions: readonly SessionView[]): Resource {
  return collection(
    PATHS.sessions,
    'SessionCollection',
    'Session Collection',
    sessions.map((s) => sessionPath(s.id)),
  );
}

export function session(view: SessionView): Resource {
  return {
    ...header(sessionPath(view.id), '#Session.v1_0_2.Session', 'Session.Session'),
    Id: view.id,
    Name: 'User Session',
    UserName: view.userName,
  };
}
