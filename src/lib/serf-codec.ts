/**
 * The pure half of the serf RPC client (serf-rpc.ts does the socket): what
 * serf's msgpack objects mean. A member arrives as serf's Go struct
 * (`Name`, `Addr` as the raw bytes of a net.IP, `Port`, `Tags`, `Status`,
 * protocol versions); Yagura keeps the fields the state setter judges by and
 * turns the address into text. Anything that does not look like what serf
 * sends is a SerfProtocolError naming the field, never a member with holes.
 */

/** serf's member states (serf.MemberStatus.String()); serf has no others. */
export const MEMBER_STATUSES = ['alive', 'leaving', 'left', 'failed', 'none'] as const;
export type SerfMemberStatus = (typeof MEMBER_STATUSES)[number];

export interface SerfMember {
  /** The node name (serf agent -node). */
  name: string;
  /** The address other members reach it at, as text: 10.69.0.3, or an IPv6 address. */
  addr: string;
  /** Its gossip port (7946 by default). */
  port: number;
  tags: Record<string, string>;
  status: SerfMemberStatus;
}

/** The header serf sends before every response (and before each streamed record). */
export interface SerfResponseHeader {
  seq: number;
  /** Empty when the command succeeded. */
  error: string;
}

/** serf sent something this client cannot read: a bug on one side, or not a serf agent at all. */
export class SerfProtocolError extends Error {
  override name = 'SerfProtocolError';
}

/** Errors after which serf sends no body, whatever the command (serf's agent/ipc.go). */
const NO_BODY_ERRORS = new Set(['Authentication required', 'Handshake required', 'Unsupported command']);
/** Commands whose response has a body after the header, even when the header carries an error. */
const COMMANDS_WITH_BODY = new Set(['members', 'members-filtered', 'join', 'stats']);

/** Whether a body object follows this response header for this command. */
export function responseHasBody(command: string, header: SerfResponseHeader): boolean {
  return COMMANDS_WITH_BODY.has(command) && !NO_BODY_ERRORS.has(header.error);
}

export function headerFromWire(raw: unknown): SerfResponseHeader {
  const object = asObject(raw, 'response header');
  const seq = object.Seq;
  const error = object.Error ?? '';
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw new SerfProtocolError(`serf response header: Seq is ${describe(seq)}, not a sequence number`);
  }
  if (typeof error !== 'string') throw new SerfProtocolError(`serf response header: Error is ${describe(error)}, not a string`);
  return { seq, error };
}

/** The members of a members or members-filtered response body ({ Members: [...] }). */
export function membersFromWire(raw: unknown): SerfMember[] {
  const members = asObject(raw, 'members response').Members ?? [];
  if (!Array.isArray(members)) throw new SerfProtocolError(`serf members response: Members is ${describe(members)}, not a list`);
  return members.map((member, index) => memberFromWire(member, index));
}

export function memberFromWire(raw: unknown, index = 0): SerfMember {
  const where = `serf member ${index}`;
  const object = asObject(raw, where);
  const name = object.Name;
  if (typeof name !== 'string' || name === '') throw new SerfProtocolError(`${where}: Name is ${describe(name)}`);
  const at = `serf member ${name}`;
  const port = object.Port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SerfProtocolError(`${at}: Port is ${describe(port)}, not a port number`);
  }
  const status = object.Status;
  if (!(MEMBER_STATUSES as readonly unknown[]).includes(status)) {
    throw new SerfProtocolError(`${at}: Status is ${describe(status)}, not one of ${MEMBER_STATUSES.join(', ')}`);
  }
  return {
    name,
    addr: addressFromBytes(object.Addr, `${at}: Addr`),
    port,
    tags: tagsFromWire(object.Tags, at),
    status: status as SerfMemberStatus,
  };
}

/**
 * An address from the bytes of a Go net.IP: 4 bytes are IPv4, 16 bytes are
 * IPv6 (shown as dotted IPv4 when they are an IPv4-mapped ::ffff:a.b.c.d,
 * which is how Go often stores an IPv4 address).
 */
export function addressFromBytes(raw: unknown, field = 'address'): string {
  if (!(raw instanceof Uint8Array) && !(Array.isArray(raw) && raw.every((b) => Number.isInteger(b) && b >= 0 && b <= 255))) {
    throw new SerfProtocolError(`${field} is ${describe(raw)}, not the bytes of an IP address`);
  }
  const bytes = Uint8Array.from(raw as ArrayLike<number>);
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) throw new SerfProtocolError(`${field} has ${bytes.length} bytes; an IP address has 4 or 16`);
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return bytes.subarray(12).join('.');
  }
  return ipv6Text(bytes);
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run (two or more) of zero groups as ::. */
function ipv6Text(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function tagsFromWire(raw: unknown, at: string): Record<string, string> {
  if (raw === null || raw === undefined) return {};
  const object = asObject(raw, `${at}: Tags`);
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(object)) {
    if (typeof value !== 'string') throw new SerfProtocolError(`${at}: tag ${key} is ${describe(value)}, not a string`);
    tags[key] = value;
  }
  return tags;
}

function asObject(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) {
    throw new SerfProtocolError(`${what} is ${describe(raw)}, not a map`);
  }
  return raw as Record<string, unknown>;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'nil';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value === 'object' ? 'a map' : String(value);
}

/**
 * serf's error string on one line: join errors come as a Go multierror
 * ("1 error occurred:\n\t* Failed to join …\n\n").
 */
export function serfErrorText(error: string): string {
  return error
    .split('\n')
    .map((line) => line.trim().replace(/^\* /, ''))
    .filter((line) => line !== '')
    .join(' ');
}
