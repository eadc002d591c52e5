/**
 * The IPMI-over-LAN server of one virtual BMC: a UDP socket (623 in a virtual
 * DC) in front of an IpmiEndpoint. ipmitool -I lanplus works against it as
 * against a real server's BMC, with cipher suite 17 or 3 and the one user the
 * topology gives. Malformed or unauthenticated datagrams are counted by
 * reason and dropped; none can crash the server. No password or key is ever
 * logged.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { UserError } from '../../../lib/errors.js';
import type { AccountsOption } from '../accounts.js';
import type { ManagedMachine } from '../machine.js';
import type { IpmiLog } from './commands.js';
import { type IpmiDropReason, IpmiEndpoint } from './endpoint.js';

export type { IpmiLog } from './commands.js';
export type { IpmiDropReason } from './endpoint.js';

/**
 * The accounts: `accounts` shared with the BMC's Redfish side, or `username`
 * (1–16 printable ASCII characters) and `password` (1–20) of a factory user
 * of its own.
 */
export type IpmiServerOptions = AccountsOption & {
  host: string;
  /** 0 picks a free port. */
  port: number;
  machine: ManagedMachine;
  log?: IpmiLog;
  /** Datagrams being answered at once beyond which new ones are dropped as "overloaded" (default 256). */
  maxInFlight?: number;
};

export interface IpmiServerStats {
  received: number;
  answered: number;
  dropped: Partial<Record<IpmiDropReason | 'overloaded' | 'internal-error', number>>;
  sessions: { active: number; handshaking: number };
}

export interface IpmiServer {
  /** The bound port (useful with port 0). */
  port: number;
  stats(): IpmiServerStats;
  close(): Promise<void>;
}

const SILENT: IpmiLog = { debug() {}, info() {}, warn() {}, error() {} };
/** How often idle sessions are swept out (they are also checked on every use). */
const SWEEP_INTERVAL_MS = 10_000;

export async function startIpmiServer(options: IpmiServerOptions): Promise<IpmiServer> {
  if (!('accounts' in options)) {
    checkCredential('user name', options.username, 16);
    checkCredential('password', options.password, 20);
  }
  const log = options.log ?? SILENT;
  const endpoint = new IpmiEndpoint({ ...options, log });
  const maxInFlight = options.maxInFlight ?? 256;
  const counts: Omit<IpmiServerStats, 'sessions'> = { received: 0, answered: 0, dropped: {} };
  const drop = (reason: keyof IpmiServerStats['dropped']) => (counts.dropped[reason] = (counts.dropped[reason] ?? 0) + 1);
  let inFlight = 0;

  const socket = await bind(options.host, options.port);
  socket.on('error', (error) => log.error({ err: error, machine: options.machine.name }, 'IPMI socket error'));
  socket.on('message', (datagram, from) => {
    counts.received++;
    // Shed load rather than queue it: a console retries within a second or two.
    if (inFlight >= maxInFlight) return void drop('overloaded');
    inFlight++;
    const remote = `${from.address}:${from.port}`;
    endpoint
      .handle(datagram, remote)
      .then(
        (outcome) => {
          if (outcome.dropped) {
            drop(outcome.dropped);
            log.debug({ remote, reason: outcome.dropped }, 'IPMI datagram dropped');
          }
          if (outcome.reply) {
            counts.answered++;
            socket.send(outcome.reply, from.port, from.address, (error) => {
              if (error) log.debug({ err: error, remote }, 'IPMI reply not sent');
            });
          }
        },
        (error: unknown) => {
          drop('internal-error');
          log.error({ err: error, remote, machine: options.machine.name }, 'IPMI datagram handling failed');
        },
      )
      .finally(() => inFlight--);
  });
  const sweep = setInterval(() => endpoint.expireSessions(), SWEEP_INTERVAL_MS);
  sweep.unref();

  const { port } = socket.address();
  log.info({ machine: options.machine.name, host: options.host, port }, 'IPMI server listening');
  return {
    port,
    stats: () => ({ ...counts, dropped: { ...counts.dropped }, sessions: endpoint.sessionCounts() }),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        socket.close(() => resolve());
      }),
  };
}

function checkCredential(what: string, value: string, maxLength: number): void {
  if (typeof value !== 'string' || !/^[\x20-\x7e]+$/.test(value) || value.length > maxLength)
    throw new UserError(
      `IPMI ${what} must be 1–${maxLength} printable ASCII characters` +
        (typeof value === 'string'
          ? ` (got ${value.length} characters${/^[\x20-\x7e]*$/.test(value) ? '' : ', some not printable ASCII'})`
          : ''),
    );
}

function bind(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const fail = (error: Error) => {
      socket.close();
      reject(new Error(`IPMI server cannot listen on ${host}:${port}: ${error.message}`, { cause: error }));
    };
    socket.once('error', fail);
    socket.bind(port, host, () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}
