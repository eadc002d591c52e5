/**
 * Shared by the IPMI tests: an in-memory ManagedMachine (a stand-in for the
 * QEMU-backed one, which these tests do not start), and a minimal RMCP+
 * remote console. The console lays packets out with Yagura's codecs but
 * computes every RAKP code, session key, integrity code and AES payload
 * itself, straight from the IPMI v2.0 formulas with node:crypto — so a
 * mistake in src/vdc/bmc/ipmi's crypto does not cancel out.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { BootOverride, ManagedMachine, PowerState } from '../../src/vdc/bmc/machine.js';
import {
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  parseOpenSessionResponse,
  parseRakp2,
  parseRakp4,
} from '../../src/vdc/bmc/ipmi/handshake-payloads.js';
import { encodeRequest, type IpmiResponse, parseResponse } from '../../src/vdc/bmc/ipmi/message.js';
import { encodeRmcp, parseRmcp, RmcpClass } from '../../src/vdc/bmc/ipmi/rmcp.js';
import { encodeV20, parseV20, type V20Packet } from '../../src/vdc/bmc/ipmi/session-v20.js';

// ---------------------------------------------------------------------------
// The in-memory machine.

export type MachineAction = 'powerOn' | 'powerOff' | 'shutdown' | 'reset' | 'cycle';

export class InMemoryMachine implements ManagedMachine {
  readonly serial = 'IPMI-TEST-0001';
  readonly name = 'ipmi-test-node';
  state: PowerState = 'off';
  override: BootOverride | undefined;
  /** Every action asked of the machine, in order. */
  readonly actions: MachineAction[] = [];
  /** Makes the next action throw this error. */
  failNext: Error | undefined;

  power(): PowerState {
    return this.state;
  }
  powerOn = () => this.act('powerOn', () => (this.state = 'on'));
  powerOff = () => this.act('powerOff', () => (this.state = 'off'));
  /** A cooperative guest: it shuts down at once. */
  shutdown = () => this.act('shutdown', () => (this.state = 'off'));
  reset = () => this.act('reset', () => (this.state = 'on'));
  cycle = () => this.act('cycle', () => (this.state = 'on'));
  bootOverride(): BootOverride | undefined {
    return this.override;
  }
  setBootOverride(override: BootOverride | undefined): void {
    this.override = override;
  }

  private async act(action: MachineAction, effect: () => void): Promise<void> {
    this.actions.push(action);
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    effect();
  }
}

// ---------------------------------------------------------------------------
// The test console.

export type Transport = (datagram: Buffer) => Promise<Buffer | undefined>;

export interface ConsoleOptions {
  username: string;
  password: string;
  suite: 3 | 17;
  /** Requested maximum privilege (RAKP 1 role); default administrator. */
  privilege?: number;
  /** Go on to RAKP 3 even if RAKP 2 shows the BMC has another password, as an attacker guessing passwords would. */
  ignoreRakp2Code?: boolean;
}

const SUITES = {
  3: { auth: 0x01, integrity: 0x01, hash: 'sha1', rakp4: 12, authCode: 12 },
  17: { auth: 0x03, integrity: 0x04, hash: 'sha256', rakp4: 16, authCode: 16 },
} as const;

export class TestConsole {
  readonly consoleSessionId = 0x1a2b3c4d;
  bmcSessionId = 0;
  private k1: Buffer = Buffer.alloc(0);
  private k2: Buffer = Buffer.alloc(0);
  private sequence = 0;
  private rqSeq = 0;

  constructor(
    private readonly transport: Transport,
    private readonly options: ConsoleOptions,
  ) {}

  private get suite() {
    return SUITES[this.options.suite];
  }

  /**
   * Open Session, RAKP 1 and RAKP 3. Returns the first non-zero status with the
   * message that carried it, or 'active'. Throws if the BMC says nothing or
   * its RAKP 2 / RAKP 4 codes are wrong.
   */
  async open(): Promise<{ step: 'open' | 'rakp2' | 'rakp4'; status: number } | 'active'> {
    const suite = this.suite;
    const open = await this.exchange(
      0x10,
      encodeOpenSessionRequest({
        tag: 1,
        maxPrivilege: 0,
        consoleSessionId: this.consoleSessionId,
        authentication: suite.auth,
        integrity: suite.integrity,
        confidentiality: 0x01,
      }),
    );
    const response = parseOpenSessionResponse(open.payload);
    if (response.status !== 0 || !response.accepted) return { step: 'open', status: response.status };
    this.bmcSessionId = response.accepted.bmcSessionId;

    const consoleRandom = randomBytes(16);
    const role = (this.options.privilege ?? 4) | 0x10;
    const username = Buffer.from(this.options.username, 'latin1');
    const rakp2Packet = await this.exchange(
      0x12,
      encodeRakp1({ tag: 2, bmcSessionId: this.bmcSessionId, consoleRandom, role, username }),
    );
    const rakp2 = parseRakp2(rakp2Packet.payload, suite.hash === 'sha1' ? 20 : 32);
    if (rakp2.status !== 0) return { step: 'rakp2', status: rakp2.status };
    const kuid = Buffer.alloc(20);
    kuid.write(this.options.password, 'latin1');
    const tail = Buffer.concat([Buffer.of(role, username.length), username]);
    const expected2 = hmac(
      suite.hash,
      kuid,
      le32(this.consoleSessionId),
      le32(this.bmcSessionId),
      consoleRandom,
      rakp2.bmcRandom!,
      rakp2.bmcGuid!,
      tail,
    );
    if (!this.options.ignoreRakp2Code && !expected2.equals(rakp2.authCode!))
      throw new Error('RAKP 2 auth code does not match the password');

    const authCode = hmac(suite.hash, kuid, rakp2.bmcRandom!, le32(this.consoleSessionId), tail);
    const sik = hmac(suite.hash, kuid, consoleRandom, rakp2.bmcRandom!, tail);
    this.k1 = hmac(suite.hash, sik, Buffer.alloc(20, 1));
    this.k2 = hmac(suite.hash, sik, Buffer.alloc(20, 2));
    const rakp4Packet = await this.exchange(0x14, encodeRakp3({ tag: 3, status: 0, bmcSessionId: this.bmcSessionId, authCode }));
    const rakp4 = parseRakp4(rakp4Packet.payload);
    if (rakp4.status !== 0) return { step: 'rakp4', status: rakp4.status };
    const expected4 = hmac(suite.hash, sik, consoleRandom, le32(this.bmcSessionId), rakp2.bmcGuid!).subarray(0, suite.rakp4);
    if (!expected4.equals(rakp4.integrityCheck)) throw new Error('RAKP 4 integrity check value is wrong');
    return 'active';
  }

  /** A sealed (encrypted, signed) in-session request datagram; `rqSeq` defaults to the next one. */
  request(netFn: number, cmd: number, data: number[] = [], rqSeq = (this.rqSeq = (this.rqSeq + 1) % 64)): Buffer {
    const message = encodeRequest({ netFn, cmd, data: Buffer.from(data), rqSeq });
    const iv = randomBytes(16);
    const padLength = (16 - ((message.length + 1) % 16)) % 16;
    const plain = Buffer.concat([message, Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1)), Buffer.of(padLength)]);
    const cipher = createCipheriv('aes-128-cbc', this.k2.subarray(0, 16), iv).setAutoPadding(false);
    const payload = Buffer.concat([iv, cipher.update(plain), cipher.final()]);
    this.sequence++;
    const signer = { authCodeLength: this.suite.authCode, sign: (bytes: Buffer) => hmac(this.suite.hash, this.k1, bytes) };
    const body = encodeV20(
      { payloadType: 0, encrypted: true, sessionId: this.bmcSessionId, sequence: this.sequence, payload },
      signer,
    );
    return encodeRmcp(RmcpClass.IPMI, body);
  }

  /** Sends a request in the session; undefined if the BMC did not answer. Checks the reply's integrity code. */
  async command(netFn: number, cmd: number, data: number[] = []): Promise<IpmiResponse | undefined> {
    const reply = await this.transport(this.request(netFn, cmd, data));
    return reply && this.readReply(reply);
  }

  /** Decrypts and checks a reply to an in-session request. */
  readReply(reply: Buffer): IpmiResponse {
    const body = parseRmcp(reply).body;
    const packet = parseV20(body);
    if (packet.sessionId !== this.consoleSessionId || !packet.authenticated || !packet.encrypted)
      throw new Error('reply is not a sealed in-session packet for this console');
    const signedLength = body.length - this.suite.authCode;
    const expected = hmac(this.suite.hash, this.k1, body.subarray(0, signedLength)).subarray(0, this.suite.authCode);
    if (!expected.equals(body.subarray(signedLength))) throw new Error('reply integrity code is wrong');
    const decipher = createDecipheriv('aes-128-cbc', this.k2.subarray(0, 16), packet.payload.subarray(0, 16)).setAutoPadding(
      false,
    );
    const plain = Buffer.concat([decipher.update(packet.payload.subarray(16)), decipher.final()]);
    return parseResponse(plain.subarray(0, plain.length - 1 - plain[plain.length - 1]!));
  }

  private async exchange(payloadType: number, payload: Buffer): Promise<V20Packet> {
    const datagram = encodeRmcp(RmcpClass.IPMI, encodeV20({ payloadType, encrypted: false, sessionId: 0, sequence: 0, payload }));
    const reply = await this.transport(datagram);
    if (!reply) throw new Error(`no answer to payload type ${payloadType}`);
    const packet = parseV20(parseRmcp(reply).body);
    if (packet.payloadType !== payloadType + 1) throw new Error(`answer has payload type ${packet.payloadType}`);
    return packet;
  }
}

function hmac(hash: string, key: Buffer, ...parts: Buffer[]): Buffer {
  const mac = createHmac(hash, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

function le32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0);
  return out;
}
