/**
 * The IPMI commands this BMC answers, each with the privilege it needs (IPMI
 * v2.0 appendix G), mapped onto the ManagedMachine. Anything else is "invalid
 * command" (C1h). Only the two discovery commands need no session; the
 * transport decides whether a session-less request gets here at all.
 */
import { VERSION } from '../../../lib/version.js';
import type { ManagedMachine } from '../machine.js';
import type { BootOptions } from './boot-options.js';
import { cipherSuiteRecords, supportedAlgorithms } from './cipher-suites.js';
import { type IpmiRequest, type IpmiResponse, responseTo } from './message.js';
import {
  AppCommand,
  ChassisCommand,
  Completion,
  CURRENT_CHANNEL,
  LAN_CHANNEL,
  MAX_PRIVILEGE,
  NetFn,
  Privilege,
} from './protocol.js';
import type { ActiveSession } from './sessions.js';

/** Where the BMC logs, one event per call (a pino logger fits). Nothing secret is ever passed to it. */
export interface IpmiLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface CommandContext {
  machine: ManagedMachine;
  bootOptions: BootOptions;
  /** Absent for session-less requests. */
  session?: ActiveSession;
  /** Ends a session by its BMC session ID; false if there is none. */
  closeSession(bmcSessionId: number): boolean;
  /** Whether a session with this BMC session ID exists. */
  hasSession(bmcSessionId: number): boolean;
  log: IpmiLog;
}

interface Handler {
  /** 0: allowed without a session. */
  privilege: number;
  answer(request: IpmiRequest, context: CommandContext): Promise<Answer> | Answer;
}

interface Answer {
  completion: number;
  data?: Uint8Array;
}

/** The commands that may be answered outside a session: read-only discovery that ipmitool sends before RAKP. */
export function isSessionless(request: IpmiRequest): boolean {
  return handlerFor(request)?.privilege === 0;
}

export async function answerRequest(request: IpmiRequest, context: CommandContext): Promise<IpmiResponse> {
  const handler = handlerFor(request);
  if (!handler) return responseTo(request, Completion.INVALID_COMMAND);
  if (handler.privilege > 0 && (!context.session || context.session.privilege < handler.privilege))
    return responseTo(request, Completion.INSUFFICIENT_PRIVILEGE);
  try {
    const { completion, data } = await handler.answer(request, context);
    return responseTo(request, completion, data);
  } catch (error) {
    context.log.error(
      { err: error, machine: context.machine.name, netFn: request.netFn, cmd: request.cmd },
      'IPMI command failed in the machine',
    );
    return responseTo(request, Completion.UNSPECIFIED_ERROR);
  }
}

/** What Chassis Control's control byte (low nibble) asks the machine to do; undefined for pulse diag and reserved values. */
export function chassisAction(control: number): 'powerOff' | 'powerOn' | 'cycle' | 'reset' | 'shutdown' | undefined {
  switch (control & 0x0f) {
    case 0x0:
      return 'powerOff';
    case 0x1:
      return 'powerOn';
    case 0x2:
      return 'cycle';
    case 0x3:
      return 'reset';
    case 0x5:
      return 'shutdown';
    default:
      // 4 is "pulse diagnostic interrupt" (an NMI): QEMU could, the ManagedMachine cannot.
      return undefined;
  }
}

const HANDLERS = new Map<number, Handler>([
  [key(NetFn.APP, AppCommand.GET_CHANNEL_AUTH_CAPABILITIES), { privilege: 0, answer: channelAuthCapabilities }],
  [key(NetFn.APP, AppCommand.GET_CHANNEL_CIPHER_SUITES), { privilege: 0, answer: channelCipherSuites }],
  [key(NetFn.APP, AppCommand.GET_DEVICE_ID), { privilege: Privilege.USER, answer: deviceId }],
  [key(NetFn.APP, AppCommand.SET_SESSION_PRIVILEGE_LEVEL), { privilege: Privilege.CALLBACK, answer: setSessionPrivilege }],
  [key(NetFn.APP, AppCommand.CLOSE_SESSION), { privilege: Privilege.CALLBACK, answer: closeSession }],
  [key(NetFn.CHASSIS, ChassisCommand.GET_CHASSIS_STATUS), { privilege: Privilege.USER, answer: chassisStatus }],
  [key(NetFn.CHASSIS, ChassisCommand.CHASSIS_CONTROL), { privilege: Privilege.OPERATOR, answer: chassisControl }],
  [key(NetFn.CHASSIS, ChassisCommand.SET_SYSTEM_BOOT_OPTIONS), { privilege: Privilege.OPERATOR, answer: setBootOptions }],
  [key(NetFn.CHASSIS, ChassisCommand.GET_SYSTEM_BOOT_OPTIONS), { privilege: Privilege.OPERATOR, answer: getBootOptions }],
]);

function key(netFn: number, cmd: number): number {
  return (netFn << 8) | cmd;
}

function handlerFor(request: IpmiRequest): Handler | undefined {
  return HANDLERS.get(key(request.netFn, request.cmd));
}

function isOurChannel(byte: number): boolean {
  const channel = byte & 0x0f;
  return channel === CURRENT_CHANNEL || channel === LAN_CHANNEL;
}

/**
 * Get Channel Authentication Capabilities (section 22.13): no IPMI v1.5
 * authentication types at all, non-null user names only, and — when asked
 * for v2.0 data — "IPMI v2.0 connections supported", which is what tells
 * ipmitool to go on with RMCP+.
 */
function channelAuthCapabilities(request: IpmiRequest): Answer {
  if (request.data.length < 2) return { completion: Completion.REQUEST_DATA_LENGTH_INVALID };
  const privilege = request.data[1]! & 0x0f;
  if (!isOurChannel(request.data[0]!) || privilege < Privilege.CALLBACK || privilege > Privilege.OEM)
    return { completion: Completion.INVALID_DATA_FIELD };
  const wantsV2 = (request.data[0]! & 0x80) !== 0;
  const NON_NULL_USER_NAMES = 0x04;
  const IPMI_V20 = 0x02;
  return {
    completion: Completion.OK,
    data: Buffer.of(LAN_CHANNEL, wantsV2 ? 0x80 : 0x00, NON_NULL_USER_NAMES, wantsV2 ? IPMI_V20 : 0x00, 0, 0, 0, 0),
  };
}

/** Get Channel Cipher Suites (section 22.15): the records in 16-byte pieces, one per list index. */
function channelCipherSuites(request: IpmiRequest): Answer {
  if (request.data.length < 3) return { completion: Completion.REQUEST_DATA_LENGTH_INVALID };
  if (!isOurChannel(request.data[0]!)) return { completion: Completion.INVALID_DATA_FIELD };
  const ipmiPayload = (request.data[1]! & 0x3f) === 0;
  const bySuite = (request.data[2]! & 0x80) !== 0;
  const index = request.data[2]! & 0x3f;
  // Only IPMI payloads can be carried: SOL and OEM payloads get an empty list.
  const list = !ipmiPayload ? Buffer.alloc(0) : bySuite ? cipherSuiteRecords() : supportedAlgorithms();
  return { completion: Completion.OK, data: Buffer.concat([Buffer.of(LAN_CHANNEL), list.subarray(index * 16, index * 16 + 16)]) };
}

/**
 * Get Device ID (section 20.1): IPMI 2.0, a chassis device, no SDRs, firmware
 * revision = Yagura's major.minor, and manufacturer 0 ("unknown"): a real
 * vendor's number would make ipmitool apply that vendor's quirks.
 */
function deviceId(): Answer {
  const DEVICE_ID = 0x20;
  const DEVICE_REVISION = 0x01;
  const IPMI_VERSION_2_0 = 0x02;
  const CHASSIS_DEVICE = 0x80;
  const [major = 0, minor = 0] = VERSION.split('.').map(Number);
  const bcdMinor = (Math.floor((minor % 100) / 10) << 4) | (minor % 10);
  return {
    completion: Completion.OK,
    data: Buffer.of(DEVICE_ID, DEVICE_REVISION, major & 0x7f, bcdMinor, IPMI_VERSION_2_0, CHASSIS_DEVICE, 0, 0, 0, 0, 0),
  };
}

/** Set Session Privilege Level (section 22.18): up to what Open Session and RAKP 1 allowed; 0 just reads it. */
function setSessionPrivilege(request: IpmiRequest, context: CommandContext): Answer {
  const session = context.session!;
  if (request.data.length < 1) return { completion: Completion.REQUEST_DATA_LENGTH_INVALID };
  const requested = request.data[0]! & 0x0f;
  if (requested === 0) return { completion: Completion.OK, data: Buffer.of(session.privilege) };
  if (requested === Privilege.CALLBACK || requested > Privilege.OEM) return { completion: Completion.INVALID_DATA_FIELD };
  if (requested > MAX_PRIVILEGE) return { completion: Completion.COMMAND_SPECIFIC_80 };
  if (requested > session.maxPrivilege) return { completion: Completion.COMMAND_SPECIFIC_81 };
  session.privilege = requested as Privilege;
  return { completion: Completion.OK, data: Buffer.of(requested) };
}

/** Close Session (section 22.19): one's own session, or any with administrator privilege. */
function closeSession(request: IpmiRequest, context: CommandContext): Answer {
  const session = context.session!;
  if (request.data.length < 4) return { completion: Completion.REQUEST_DATA_LENGTH_INVALID };
  const target = request.data.readUInt32LE(0);
  // Session ID 0 would select by session handle, which this BMC does not hand out.
  const INVALID_SESSION_HANDLE = 0x88;
  if (target === 0) return { completion: INVALID_SESSION_HANDLE };
  if (target !== session.bmcSessionId && session.privilege < Privilege.ADMINISTRATOR)
    return { completion: context.hasSession(target) ? Completion.INSUFFICIENT_PRIVILEGE : Completion.INVALID_SESSION_ID };
  return { completion: context.closeSession(target) ? Completion.OK : Completion.INVALID_SESSION_ID };
}

/**
 * Get Chassis Status (section 28.2): power on or off; restore policy
 * "unknown" (the virtual DC decides what runs at start); no faults, no
 * power event history, no front panel.
 */
function chassisStatus(_request: IpmiRequest, context: CommandContext): Answer {
  const POWER_ON = 0x01;
  const RESTORE_POLICY_UNKNOWN = 0x60;
  return {
    completion: Completion.OK,
    data: Buffer.of((context.machine.power() === 'on' ? POWER_ON : 0) | RESTORE_POLICY_UNKNOWN, 0, 0),
  };
}

/** Chassis Control (section 28.3). */
async function chassisControl(request: IpmiRequest, context: CommandContext): Promise<Answer> {
  if (request.data.length < 1) return { completion: Completion.REQUEST_DATA_LENGTH_INVALID };
  const action = chassisAction(request.data[0]!);
  if (!action) return { completion: Completion.INVALID_DATA_FIELD };
  context.log.info({ machine: context.machine.name, action, session: context.session?.bmcSessionId }, 'IPMI chassis control');
  await context.machine[action]();
  return { completion: Completion.OK };
}

function setBootOptions(request: IpmiRequest, context: CommandContext): Answer {
  if (request.data.length < 1) return { completion: Completion.REQUEST_DATA_LENGTH_INVALID };
  return context.bootOptions.set(request.data[0]!, request.data.subarray(1));
}

function getBootOptions(request: IpmiRequest, context: CommandContext): Answer {
  if (request.data.length < 3) return { completion: Completion.REQUEST_DATA_LENGTH_INVALID };
  return context.bootOptions.get(request.data[0]!);
}
