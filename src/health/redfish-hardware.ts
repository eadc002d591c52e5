/**
 * Reads a server's parts from its BMC over Redfish, as Neco's monitor-hw
 * walks an iDRAC's tree: the drives of every storage controller of every
 * system, the memory modules, and the power supplies and fans of every
 * chassis (the Power and Thermal resources, as iDRAC and Yagura's virtual BMC
 * serve them). It follows the links the BMC gives rather than assuming
 * paths, so it reads real iDRACs and the virtual BMC alike. Parts whose
 * Status.State is Absent (an empty slot) are left out.
 *
 * Any request that fails fails the whole read with a BmcReadError that says
 * which BMC, which resource and why: a partial reading could hide a broken
 * part behind a missing one.
 */
import { bmcRequest, redfishErrorMessage, type BmcTarget } from '../lib/bmc-https.js';
import { mapLimited } from '../lib/concurrency.js';
import type { HardwareKind, HardwareReading, PartHealth } from './hardware-rules.js';

/** Where a BMC is and how to talk to it; the credentials are given separately. */
export type BmcConnection = Omit<BmcTarget, 'username' | 'password'>;

export interface Credentials {
  username: string;
  password: string;
}

export class BmcReadError extends Error {
  override name = 'BmcReadError';
  constructor(
    message: string,
    /** The HTTP status the BMC answered, when it answered. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Requests to one BMC in flight at once: iDRACs answer slowly and refuse many parallel connections. */
const PARALLEL_REQUESTS = 4;

type Json = Record<string, unknown>;

/** Every part the BMC reports, drives first, then memory, power supplies and fans. */
export async function readHardware(bmc: BmcConnection, credentials: Credentials): Promise<HardwareReading[]> {
  const get = resourceReader({ ...bmc, timeoutMs: bmc.timeoutMs ?? 10_000, ...credentials });
  const systems = await members(get, '/redfish/v1/Systems');
  const chassis = await members(get, '/redfish/v1/Chassis');
  const readings: HardwareReading[] = [];
  for (const system of systems) {
    const storage = linkOf(system.Storage);
    if (storage)
      for (const controller of await members(get, storage)) {
        const drives = (Array.isArray(controller.Drives) ? controller.Drives : []).map(linkOf).filter(isString);
        readings.push(...(await mapLimited(drives, PARALLEL_REQUESTS, get)).flatMap((drive) => reading('drive', drive)));
      }
    const memory = linkOf(system.Memory);
    if (memory) readings.push(...(await members(get, memory)).flatMap((dimm) => reading('memory', dimm)));
  }
  for (const one of chassis) {
    const power = linkOf(one.Power);
    if (power) readings.push(...arrayOf((await get(power)).PowerSupplies).flatMap((psu) => reading('psu', psu)));
    const thermal = linkOf(one.Thermal);
    if (thermal) readings.push(...arrayOf((await get(thermal)).Fans).flatMap((fan) => reading('fan', fan)));
  }
  return readings;
}

/** GET of one resource as a JSON object, or a BmcReadError. */
export function resourceReader(target: BmcTarget): (path: string) => Promise<Json> {
  const where = `BMC ${target.host}`;
  return async (path) => {
    let reply;
    try {
      reply = await bmcRequest(target, 'GET', path);
    } catch (error) {
      throw new BmcReadError(`${where}: GET ${path}: ${(error as Error).message}`);
    }
    if (reply.status === 401)
      throw new BmcReadError(`${where}: GET ${path}: 401, the BMC refuses the credentials of user ${target.username}`, 401);
    if (reply.status !== 200)
      throw new BmcReadError(`${where}: GET ${path}: ${reply.status}: ${redfishErrorMessage(reply.body)}`, reply.status);
    let body: unknown;
    try {
      body = JSON.parse(reply.body);
    } catch {
      throw new BmcReadError(`${where}: GET ${path}: the answer is not JSON`, reply.status);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new BmcReadError(`${where}: GET ${path}: the answer is not a JSON object`, reply.status);
    return body as Json;
  };
}

/** The members of a collection, each read. */
async function members(get: (path: string) => Promise<Json>, path: string): Promise<Json[]> {
  const links = arrayOf((await get(path)).Members)
    .map(linkOf)
    .filter(isString);
  return mapLimited(links, PARALLEL_REQUESTS, get);
}

/** A part as a reading; none for an empty slot. */
function reading(kind: HardwareKind, part: Json): HardwareReading[] {
  const status = (typeof part.Status === 'object' && part.Status !== null ? part.Status : {}) as Json;
  if (status.State === 'Absent') return [];
  const id = [part.Id, part.MemberId, part.Name, part['@odata.id']].find(isString) ?? kind;
  return [{ kind, id, health: healthOf(status.Health) }];
}

function healthOf(value: unknown): PartHealth {
  return value === 'OK' || value === 'Warning' || value === 'Critical' ? value : 'Unknown';
}

function linkOf(value: unknown): string | undefined {
  const id = typeof value === 'object' && value !== null ? (value as Json)['@odata.id'] : undefined;
  return typeof id === 'string' ? id : undefined;
}

function arrayOf(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter((item): item is Json => typeof item === 'object' && item !== null) : [];
}

function isString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}
