/**
 * One virtual BMC's IPMI-over-LAN protocol, without the socket: a datagram
 * goes in, a reply or a drop reason comes out.
 *
 *   RMCP/ASF presence ping                → pong
 *   IPMI v1.5, any auth type              → only Get Channel Auth Capabilities is answered
 *   RMCP+ session-less IPMI (session 0)   → only Get Channel Auth Capabilities / Cipher Suites
 *   RMCP+ Open Session, RAKP 1, RAKP 3    → Open Session Response, RAKP 2, RAKP 4
 *   RMCP+ in-session IPMI                 → checked (integrity code, then sequence window), decrypted, answered
 *
 * Nothing that changes the machine runs outside an authenticated,
 * integrity-checked, encrypted session. Unlike placemat, the integrity code
 * of every in-session packet is verified before anything else is looked at.
 */
import { createHash, randomBytes } from 'node:crypto';
import { accountsFrom, IPMI_PRIVILEGE, type AccountsOption, type BmcAccounts } from '../accounts.js';
import type { ManagedMachine } from '../machine.js';
import { BootOptions } from './boot-options.js';
import { chooseCipherSuite } from './cipher-suites.js';
import { answerRequest, type CommandContext, type IpmiLog, isSessionless } from './commands.js';
import {
  encodeOpenSessionResponse,
  encodeRakp2,
  encodeRakp4,
  parseOpenSessionRequest,
  parseRakp1,
  parseRakp3,
} from './handshake-payloads.js';
import { encodeResponse, type IpmiRequest, parseRequest } from './message.js';
import { decryptPayload, encryptPayload, integrityCode, integritySigner } from './packet-protection.js';
import { IpmiParseError, type IpmiParseReason } from './parse-error.js';
import { AppCommand, AuthType, MAX_PRIVILEGE, NetFn, PayloadType, Privilege, RakpStatus } from './protocol.js';
import {
  codesMatch,
  rakp2AuthCode,
  rakp3AuthCode,
  rakp4IntegrityCheck,
  type RakpExchange,
  sessionKeys,
  userKey,
} from './rakp-keys.js';
import { encodeAsfPong, encodeRmcp, parseAsfPing, parseRmcp, RmcpClass } from './rmcp.js';
import { encodeV15, parseV15 } from './session-v15.js';
import { encodeV20, parseV20, readSessionTrailer, type V20Packet } from './session-v20.js';
import { SequenceWindow, type SequenceVerdict } from './sequence-window.js';
import { type ActiveSession, type ChallengedSession, type Session, SessionTable } from './sessions.js';

/** Why a datagram got no answer. */
export type IpmiDropReason =
  | IpmiParseReason
  /** A command other than the discovery ones, outside a session (v1.5 or RMCP+ session 0). */
  | 'needs-session'
  /** An in-session packet for a session ID that does not exist (or timed out). */
  | 'unknown-session'
  /** An in-session packet for a session whose RAKP exchange has not finished. */
  | 'session-not-active'
  /** An in-session packet without the authenticated and encrypted bits. */
  | 'unprotected'
  | 'bad-integrity'
  | `sequence-${Exclude<SequenceVerdict, 'accepted'>}`
  /** AES payload that is not IV + whole blocks, or whose pad is wrong. */
  | 'bad-confidentiality'
  /** SOL, OEM payloads, and BMC-to-console payload types. */
  | 'unsupported-payload'
  /** A handshake payload (Open Session, RAKP) sent with the authenticated or encrypted bit. */
  | 'protected-handshake'
  /** RAKP 3 carrying an error status: the console gave up (it found RAKP 2 wrong, e.g. a wrong password). */
  | 'console-aborted-rakp';

export interface IpmiOutcome {
  reply?: Buffer;
  dropped?: IpmiDropReason;
}

/** The accounts: `accounts` shared with the BMC's Redfish side, or `username` and `password` of a factory user of its own. */
export type IpmiEndpointOptions = AccountsOption & {
  machine: ManagedMachine;
  log: IpmiLog;
  now?: () => number;
  random?: (bytes: number) => Buffer;
  /** Tests shorten these. */
  sessionCapacity?: number;
  sessionIdleTimeoutMs?: number;
};

/** How long a repeated request (same bytes, same session) is answered from the cache instead of run again. */
const RETRY_WINDOW_MS = 5_000;

export class IpmiEndpoint {
  readonly sessions: SessionTable;
  private readonly accounts: BmcAccounts;
  private readonly guid: Buffer;
  private readonly bootOptions: BootOptions;
  private readonly now: () => number;
  private readonly random: (bytes: number) => Buffer;

  constructor(private readonly options: IpmiEndpointOptions) {
    this.accounts = accountsFrom(options);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? randomBytes;
    this.sessions = new SessionTable({
      capacity: options.sessionCapacity,
      idleTimeoutMs: options.sessionIdleTimeoutMs,
      randomId: () => this.random(4).readUInt32LE(0),
    });
    // Stable per machine, so a console sees the same BMC GUID across restarts.
    this.guid = createHash('sha256').update(`yagura-bmc:${options.machine.serial}`).digest().subarray(0, 16);
    this.bootOptions = new BootOptions(options.machine);
  }

  /** Answers one datagram from `remote` ("address:port", for logs). Never throws for bad input. */
  async handle(datagram: Buffer, remote: string): Promise<IpmiOutcome> {
    try {
      const rmcp = parseRmcp(datagram);
      if (rmcp.class === RmcpClass.ASF)
        return { reply: encodeRmcp(RmcpClass.ASF, encodeAsfPong(parseAsfPing(rmcp.body).tag), rmcp.sequence) };
      const body = rmcp.body;
      if (body.length > 0 && body[0] !== AuthType.RMCP_PLUS) return await this.handleV15(body);
      return await this.handleV20(body, remote);
    } catch (error) {
      if (error instanceof IpmiParseError) return { dropped: error.reason };
      throw error;
    }
  }

  private async handleV15(body: Buffer): Promise<IpmiOutcome> {
    const request = parseRequest(parseV15(body).message);
    // No v1.5 sessions exist, so whatever the auth type and auth code, only the capabilities probe is answered.
    if (request.netFn !== NetFn.APP || request.cmd !== AppCommand.GET_CHANNEL_AUTH_CAPABILITIES)
      return { dropped: 'needs-session' };
    const response = await answerRequest(request, this.context());
    return { reply: encodeRmcp(RmcpClass.IPMI, encodeV15({ message: encodeResponse(response) })) };
  }

  private async handleV20(body: Buffer, remote: string): Promise<IpmiOutcome> {
    const packet = parseV20(body);
    const handshake = packet.payloadType >= PayloadType.OPEN_SESSION_REQUEST && packet.payloadType <= PayloadType.RAKP_4;
    if (handshake && (packet.authenticated || packet.encrypted)) return { dropped: 'protected-handshake' };
    switch (packet.payloadType) {
      case PayloadType.OPEN_SESSION_REQUEST:
        return this.openSession(packet, remote);
      case PayloadType.RAKP_1:
        return this.rakp1(packet, remote);
      case PayloadType.RAKP_3:
        return this.rakp3(packet, remote);
      case PayloadType.IPMI:
        return packet.sessionId === 0 ? this.sessionless(packet) : this.inSession(body, packet);
      default:
        return { dropped: 'unsupported-payload' };
    }
  }

  private async sessionless(packet: V20Packet): Promise<IpmiOutcome> {
    if (packet.authenticated || packet.encrypted) return { dropped: 'unknown-session' };
    const request = parseRequest(packet.payload);
    if (!isSessionless(request)) return { dropped: 'needs-session' };
    const response = encodeResponse(await answerRequest(request, this.context()));
    return { reply: v20Reply(PayloadType.IPMI, 0, response) };
  }

  private openSession(packet: V20Packet, remote: string): IpmiOutcome {
    const request = parseOpenSessionRequest(packet.payload);
    const refuse = (status: number): IpmiOutcome => {
      this.options.log.debug({ remote, status }, 'IPMI open session refused');
      return { reply: v20Reply(PayloadType.OPEN_SESSION_RESPONSE, 0, encodeOpenSessionResponse({ ...request, status })) };
    };
    if (request.consoleSessionId === 0) return refuse(RakpStatus.ILLEGAL_PARAMETER);
    if (request.maxPrivilege > Privilege.OEM) return refuse(RakpStatus.INVALID_ROLE);
    if (request.maxPrivilege > MAX_PRIVILEGE) return refuse(RakpStatus.UNAUTHORIZED_ROLE);
    const suite = chooseCipherSuite(request);
    if ('refused' in suite) return refuse(suite.refused);
    const maxPrivilege = (request.maxPrivilege || MAX_PRIVILEGE) as Privilege;
    const { session, evicted } = this.sessions.open(
      { consoleSessionId: request.consoleSessionId, suite, maxPrivilege },
      this.now(),
    );
    if (evicted)
      this.options.log.info({ session: evicted.bmcSessionId, state: evicted.state }, 'IPMI session evicted: table full');
    const accepted = { ...request, maxPrivilege, bmcSessionId: session.bmcSessionId };
    return {
      reply: v20Reply(PayloadType.OPEN_SESSION_RESPONSE, 0, encodeOpenSessionResponse({ ...request, status: 0, accepted })),
    };
  }

  private rakp1(packet: V20Packet, remote: string): IpmiOutcome {
    const message = parseRakp1(packet.payload);
    const session = this.sessions.get(message.bmcSessionId, this.now());
    const refuse = (status: number): IpmiOutcome => {
      if (session && session.state !== 'active') this.sessions.remove(session.bmcSessionId);
      this.options.log.info({ remote, status, username: printable(message.username) }, 'IPMI RAKP 1 refused');
      const consoleSessionId = session && session.state !== 'active' ? session.consoleSessionId : 0;
      return { reply: v20Reply(PayloadType.RAKP_2, 0, encodeRakp2({ tag: message.tag, status, consoleSessionId })) };
    };
    // A repeated RAKP 1 (the console lost our RAKP 2) starts the challenge again.
    if (!session || session.state === 'active') return refuse(RakpStatus.INVALID_SESSION_ID);
    if (message.username.length > 16) return refuse(RakpStatus.INVALID_NAME_LENGTH);
    const privilege = message.role & 0x0f;
    if (privilege < Privilege.CALLBACK || privilege > Privilege.OEM) return refuse(RakpStatus.INVALID_ROLE);
    if (privilege > session.maxPrivilege) return refuse(RakpStatus.UNAUTHORIZED_ROLE);
    // The account is looked up now: a password changed through Redfish counts from the next session on.
    const account = this.accounts.secretOf(message.username.toString('latin1'));
    if (account === undefined) return refuse(RakpStatus.UNAUTHORIZED_NAME);
    if (privilege > IPMI_PRIVILEGE[account.role]) return refuse(RakpStatus.UNAUTHORIZED_ROLE);
    const kuid = userKey(account.password);
    const exchange: RakpExchange = {
      consoleSessionId: session.consoleSessionId,
      bmcSessionId: session.bmcSessionId,
      consoleRandom: Buffer.from(message.consoleRandom),
      bmcRandom: this.random(16),
      bmcGuid: this.guid,
      role: message.role,
      username: Buffer.from(message.username),
    };
    const challenged: ChallengedSession = {
      ...session,
      state: 'challenged',
      exchange,
      kuid,
      maxPrivilege: privilege as Privilege,
      lastActivity: this.now(),
    };
    this.sessions.replace(challenged);
    const rakp2 = encodeRakp2({
      tag: message.tag,
      status: RakpStatus.NO_ERRORS,
      consoleSessionId: session.consoleSessionId,
      bmcRandom: exchange.bmcRandom,
      bmcGuid: exchange.bmcGuid,
      authCode: rakp2AuthCode(session.suite, kuid, exchange),
    });
    return { reply: v20Reply(PayloadType.RAKP_2, 0, rakp2) };
  }

  private rakp3(packet: V20Packet, remote: string): IpmiOutcome {
    const message = parseRakp3(packet.payload);
    const session = this.sessions.get(message.bmcSessionId, this.now());
    const refuse = (status: number): IpmiOutcome => {
      const consoleSessionId = session && session.state !== 'active' ? session.consoleSessionId : 0;
      const rakp4 = encodeRakp4({ tag: message.tag, status, consoleSessionId, integrityCheck: Buffer.alloc(0) });
      return { reply: v20Reply(PayloadType.RAKP_4, 0, rakp4) };
    };
    if (!session || session.state !== 'challenged') return refuse(RakpStatus.INVALID_SESSION_ID);
    if (message.status !== RakpStatus.NO_ERRORS) {
      this.sessions.remove(session.bmcSessionId);
      this.options.log.info(
        { remote, status: message.status },
        'IPMI console rejected RAKP 2 (does it use a different password?); session dropped',
      );
      return { dropped: 'console-aborted-rakp' };
    }
    const { suite, exchange, kuid } = session;
    if (!codesMatch(message.authCode, rakp3AuthCode(suite, kuid, exchange))) {
      this.sessions.remove(session.bmcSessionId);
      this.options.log.warn({ remote, username: printable(exchange.username) }, 'IPMI RAKP 3 auth code wrong (wrong password)');
      return refuse(RakpStatus.INVALID_INTEGRITY_CHECK_VALUE);
    }
    const keys = sessionKeys(suite, kuid, exchange);
    const { kuid: _key, ...challenged } = session; // the session keys are all it needs from here on
    const active: ActiveSession = {
      ...challenged,
      state: 'active',
      keys,
      // Sessions start at User level, or lower if that is their maximum (section 22.18).
      privilege: Math.min(Privilege.USER, session.maxPrivilege) as Privilege,
      inbound: new SequenceWindow(),
      outboundSequence: 0,
      lastActivity: this.now(),
    };
    this.sessions.replace(active);
    this.options.log.info({ remote, session: active.bmcSessionId, suite: suite.id }, 'IPMI session opened');
    const rakp4 = encodeRakp4({
      tag: message.tag,
      status: RakpStatus.NO_ERRORS,
      consoleSessionId: session.consoleSessionId,
      integrityCheck: rakp4IntegrityCheck(suite, keys.sik, exchange),
    });
    return { reply: v20Reply(PayloadType.RAKP_4, 0, rakp4) };
  }

  private async inSession(body: Buffer, packet: V20Packet): Promise<IpmiOutcome> {
    const session = this.sessions.get(packet.sessionId, this.now());
    if (!session) return { dropped: 'unknown-session' };
    if (session.state !== 'active') return { dropped: 'session-not-active' };
    if (!packet.authenticated || !packet.encrypted) return { dropped: 'unprotected' };
    const { suite, keys } = session;
    const { signed, authCode } = readSessionTrailer(body, packet, suite.authCodeLength);
    if (!codesMatch(authCode, integrityCode(suite, keys, signed))) return { dropped: 'bad-integrity' };
    const verdict = session.inbound.accept(packet.sequence);
    if (verdict !== 'accepted') return { dropped: `sequence-${verdict}` };
    session.lastActivity = this.now();
    const message = decryptPayload(keys, packet.payload);
    if (!message) return { dropped: 'bad-confidentiality' };
    const request = parseRequest(message);
    return { reply: this.sealed(session, await this.answerOnce(session, request, message)) };
  }

  /**
   * The response bytes. A console that got no answer in time (a slow power
   * cycle, a lost reply) sends the same request again under a new session
   * sequence number: it gets the first run's answer instead of a second run.
   */
  private answerOnce(session: ActiveSession, request: IpmiRequest, message: Buffer): Promise<Buffer> {
    const last = session.lastAnswer;
    if (last && last.request.equals(message) && this.now() - last.at < RETRY_WINDOW_MS) return last.response;
    const response = answerRequest(request, this.context(session)).then(encodeResponse);
    session.lastAnswer = { request: Buffer.from(message), response, at: this.now() };
    return response;
  }

  private sealed(session: ActiveSession, message: Buffer): Buffer {
    session.outboundSequence = (session.outboundSequence + 1) >>> 0 || 1;
    const fields = {
      payloadType: PayloadType.IPMI,
      encrypted: true,
      sessionId: session.consoleSessionId,
      sequence: session.outboundSequence,
      payload: encryptPayload(session.keys, this.random(16), message),
    };
    return encodeRmcp(RmcpClass.IPMI, encodeV20(fields, integritySigner(session.suite, session.keys)));
  }

  private context(session?: ActiveSession): CommandContext {
    return {
      machine: this.options.machine,
      bootOptions: this.bootOptions,
      session,
      log: this.options.log,
      hasSession: (id) => this.sessions.get(id, this.now()) !== undefined,
      closeSession: (id) => {
        const closed = this.sessions.remove(id);
        if (closed) this.options.log.info({ session: id, by: session?.bmcSessionId }, 'IPMI session closed');
        return closed;
      },
    };
  }

  /** Forgets sessions idle too long (they are also checked whenever used). */
  expireSessions(): void {
    this.sessions.expire(this.now());
  }

  /** Active sessions and those still in the RAKP exchange. */
  sessionCounts(): { active: number; handshaking: number } {
    this.expireSessions();
    const all: Session[] = this.sessions.list();
    const active = all.filter((s) => s.state === 'active').length;
    return { active, handshaking: all.length - active };
  }
}

/** An unauthenticated, unencrypted RMCP+ packet: session-less answers and the handshake. */
function v20Reply(payloadType: number, sessionId: number, payload: Buffer): Buffer {
  return encodeRmcp(RmcpClass.IPMI, encodeV20({ payloadType, encrypted: false, sessionId, sequence: 0, payload }));
}

/** A user name from the network, safe to log. */
function printable(name: Buffer): string {
  return name.toString('latin1').replace(/[^\x20-\x7e]/g, '?');
}
