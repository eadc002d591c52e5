/**
 * The virtual BMC's IPMI protocol engine (no socket), driven by a test
 * console that does its own crypto, against an in-memory machine: sessions
 * with suites 3 and 17, every way in without the password refused, tampered
 * and replayed packets dropped, privileges enforced, the command set and its
 * completion codes, session timeout and close.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IpmiEndpoint, type IpmiOutcome } from '../../src/vdc/bmc/ipmi/endpoint.js';
import { encodeOpenSessionRequest, parseOpenSessionResponse } from '../../src/vdc/bmc/ipmi/handshake-payloads.js';
import { encodeRequest, parseResponse } from '../../src/vdc/bmc/ipmi/message.js';
import { encodeAsfPing, encodeRmcp, parseRmcp, RmcpClass } from '../../src/vdc/bmc/ipmi/rmcp.js';
import { encodeV15, parseV15 } from '../../src/vdc/bmc/ipmi/session-v15.js';
import { encodeV20, parseV20 } from '../../src/vdc/bmc/ipmi/session-v20.js';
import { InMemoryMachine, TestConsole } from './vdc-ipmi-support.js';

const USER = 'admin';
const PASSWORD = 'secret-pw';
const APP = 0x06;
const CHASSIS = 0x00;

function bmc() {
  const machine = new InMemoryMachine();
  let now = 1_700_000_000_000;
  const logs: { level: string; line: string }[] = [];
  const record =
    (level: string) =>
    (...args: unknown[]) =>
      void logs.push({ level, line: JSON.stringify(args, (_key, value) => (value instanceof Error ? value.message : value)) });
  const log = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  const endpoint = new IpmiEndpoint({ username: USER, password: PASSWORD, machine, log, now: () => now });
  const outcomes: IpmiOutcome[] = [];
  const transport = async (datagram: Buffer) => {
    const outcome = await endpoint.handle(datagram, '127.0.0.1:40000');
    outcomes.push(outcome);
    return outcome.reply;
  };
  const console = (options: Partial<ConstructorParameters<typeof TestConsole>[1]> = {}) =>
    new TestConsole(transport, { username: USER, password: PASSWORD, suite: 17, ...options });
  return {
    machine,
    endpoint,
    transport,
    console,
    logs,
    advance: (ms: number) => (now += ms),
    lastDrop: () => outcomes.at(-1)?.dropped,
  };
}

/** A console with an active session raised to administrator. */
async function adminSession(b: ReturnType<typeof bmc>, suite: 3 | 17 = 17): Promise<TestConsole> {
  const console = b.console({ suite });
  assert.equal(await console.open(), 'active');
  assert.equal((await console.command(APP, 0x3b, [0x04]))?.completion, 0);
  return console;
}

function sessionless(message: Buffer): Buffer {
  return encodeRmcp(RmcpClass.IPMI, encodeV20({ payloadType: 0, encrypted: false, sessionId: 0, sequence: 0, payload: message }));
}

describe('IPMI endpoint against an in-memory machine', () => {
  for (const suite of [3, 17] as const) {
    it(`opens a session with cipher suite ${suite}, raises it to administrator and powers the machine on`, async () => {
      const b = bmc();
      const console = b.console({ suite });
      assert.equal(await console.open(), 'active');
      assert.deepEqual(b.endpoint.sessionCounts(), { active: 1, handshaking: 0 });
      const raised = await console.command(APP, 0x3b, [0x04]);
      assert.deepEqual([raised?.completion, [...raised!.data]], [0x00, [0x04]]);
      assert.equal((await console.command(CHASSIS, 0x02, [0x01]))?.completion, 0x00);
      assert.equal(b.machine.state, 'on');
      const status = await console.command(CHASSIS, 0x01);
      assert.equal(status?.completion, 0);
      assert.equal(status!.data[0]! & 0x01, 1);
    });
  }

  it('maps every Chassis Control action onto the machine, and refuses pulse diag and bad requests', async () => {
    const b = bmc();
    const console = await adminSession(b);
    for (const control of [0x01, 0x00, 0x02, 0x03, 0x05])
      assert.equal((await console.command(CHASSIS, 0x02, [control]))?.completion, 0);
    assert.deepEqual(b.machine.actions, ['powerOn', 'powerOff', 'cycle', 'reset', 'shutdown']);
    assert.equal((await console.command(CHASSIS, 0x02, [0x04]))?.completion, 0xcc);
    assert.equal((await console.command(CHASSIS, 0x02, [0x07]))?.completion, 0xcc);
    assert.equal((await console.command(CHASSIS, 0x02, []))?.completion, 0xc7);
    assert.equal(b.machine.actions.length, 5);
  });

  it('answers commands it does not implement with C1h "invalid command"', async () => {
    const b = bmc();
    const console = await adminSession(b);
    assert.equal((await console.command(0x0a, 0x40))?.completion, 0xc1); // Get SEL Info
    assert.equal((await console.command(APP, 0x3d, [0]))?.completion, 0xc1); // Get Session Info
    assert.equal((await console.command(CHASSIS, 0x0f))?.completion, 0xc1); // Get POH Counter
  });

  it('reports Get Device ID as an IPMI 2.0 chassis device', async () => {
    const b = bmc();
    const console = await adminSession(b);
    const id = await console.command(APP, 0x01);
    assert.equal(id?.completion, 0);
    assert.equal(id!.data[4], 0x02);
    assert.equal(id!.data[5], 0x80);
  });

  it('keeps the boot override in the machine: PXE once, disk persistent, cleared, and other devices refused', async () => {
    const b = bmc();
    const console = await adminSession(b);
    const set = async (flags: number[]) => (await console.command(CHASSIS, 0x08, [0x05, ...flags]))?.completion;
    const get = async () => {
      const response = await console.command(CHASSIS, 0x09, [0x05, 0x00, 0x00]);
      assert.equal(response?.completion, 0);
      return [...response!.data];
    };
    assert.equal(await set([0x80, 0x04, 0, 0, 0]), 0);
    assert.deepEqual(b.machine.override, { device: 'pxe', once: true });
    assert.deepEqual(await get(), [0x01, 0x05, 0x80, 0x04, 0, 0, 0]);
    assert.equal(await set([0xe0, 0x08, 0, 0, 0]), 0);
    assert.deepEqual(b.machine.override, { device: 'disk', once: false });
    assert.deepEqual(await get(), [0x01, 0x05, 0xe0, 0x08, 0, 0, 0]);
    assert.equal(await set([0x80, 0x14, 0, 0, 0]), 0xcc); // CD/DVD
    assert.deepEqual(b.machine.override, { device: 'disk', once: false });
    assert.equal(await set([0x00, 0x00, 0, 0, 0]), 0);
    assert.equal(b.machine.override, undefined);
    b.machine.override = { device: 'pxe', once: false }; // as Redfish would set it
    assert.deepEqual((await get()).slice(2, 4), [0xc0, 0x04]);
    assert.equal(await set([0x80, 0x04]), 0xc7);
    assert.equal((await console.command(CHASSIS, 0x09, [0x07, 0, 0]))?.completion, 0x80);
    // ipmitool's set-in-progress dance: in progress, (writes), commit, complete; a second "in progress" is refused.
    assert.equal((await console.command(CHASSIS, 0x08, [0x00, 0x01]))?.completion, 0);
    assert.equal((await console.command(CHASSIS, 0x08, [0x00, 0x01]))?.completion, 0x81);
    assert.equal((await console.command(CHASSIS, 0x08, [0x00, 0x02]))?.completion, 0);
    assert.equal((await console.command(CHASSIS, 0x08, [0x00, 0x00]))?.completion, 0);
    assert.equal((await console.command(CHASSIS, 0x08, [0x04, 0x01, 0x01]))?.completion, 0);
  });

  it('starts sessions at User level: chassis control needs Set Session Privilege Level first', async () => {
    const b = bmc();
    const console = b.console();
    assert.equal(await console.open(), 'active');
    assert.equal((await console.command(CHASSIS, 0x01))?.completion, 0);
    assert.equal((await console.command(CHASSIS, 0x02, [0x01]))?.completion, 0xd4);
    assert.equal((await console.command(CHASSIS, 0x09, [0x05, 0, 0]))?.completion, 0xd4);
    assert.equal((await console.command(APP, 0x3b, [0x03]))?.completion, 0);
    assert.equal((await console.command(CHASSIS, 0x02, [0x01]))?.completion, 0);
    assert.deepEqual(b.machine.actions, ['powerOn']);
  });

  it('holds a session to the privilege its console asked for in RAKP 1', async () => {
    const b = bmc();
    const console = b.console({ privilege: 0x02 });
    assert.equal(await console.open(), 'active');
    assert.equal((await console.command(APP, 0x3b, [0x04]))?.completion, 0x81);
    assert.equal((await console.command(APP, 0x3b, [0x05]))?.completion, 0x80);
    assert.equal((await console.command(CHASSIS, 0x02, [0x01]))?.completion, 0xd4);
    assert.equal(b.machine.actions.length, 0);
  });

  it('refuses an unknown user in RAKP 2 and keeps no session', async () => {
    const b = bmc();
    assert.deepEqual(await b.console({ username: 'root' }).open(), { step: 'rakp2', status: 0x0d });
    assert.deepEqual(b.endpoint.sessionCounts(), { active: 0, handshaking: 0 });
  });

  it('refuses a wrong password in RAKP 4, keeps no session and leaves the machine alone', async () => {
    const b = bmc();
    const attacker = b.console({ password: 'guess', ignoreRakp2Code: true });
    assert.deepEqual(await attacker.open(), { step: 'rakp4', status: 0x0f });
    assert.deepEqual(b.endpoint.sessionCounts(), { active: 0, handshaking: 0 });
    assert.equal(await b.transport(attacker.request(CHASSIS, 0x02, [0x01])), undefined);
    assert.equal(b.lastDrop(), 'unknown-session');
    assert.equal(b.machine.actions.length, 0);
  });

  it('refuses cipher suites other than 3 and 17 in the Open Session Response', async () => {
    const b = bmc();
    const open = (authentication: number, integrity: number, confidentiality: number) =>
      b.transport(
        encodeRmcp(
          RmcpClass.IPMI,
          encodeV20({
            payloadType: 0x10,
            encrypted: false,
            sessionId: 0,
            sequence: 0,
            payload: encodeOpenSessionRequest({
              tag: 1,
              maxPrivilege: 0,
              consoleSessionId: 9,
              authentication,
              integrity,
              confidentiality,
            }),
          }),
        ),
      );
    const status = async (reply: Promise<Buffer | undefined>) =>
      parseOpenSessionResponse(parseV20(parseRmcp((await reply)!).body).payload).status;
    assert.equal(await status(open(0, 0, 0)), 0x04);
    assert.equal(await status(open(1, 0, 0)), 0x05);
    assert.equal(await status(open(1, 1, 0)), 0x10);
    assert.equal(await status(open(1, 1, 1)), 0x00);
    assert.deepEqual(b.endpoint.sessionCounts(), { active: 0, handshaking: 1 });
  });

  it('answers an IPMI v1.5 Get Channel Authentication Capabilities with "IPMI v2.0 only", and nothing else in v1.5', async () => {
    const b = bmc();
    const active = await adminSession(b);
    const v15 = (authType: number, sessionId: number, netFn: number, cmd: number, data: number[]) =>
      encodeRmcp(
        RmcpClass.IPMI,
        encodeV15({
          authType,
          sessionId,
          sequence: 1,
          authCode: authType === 0 ? undefined : Buffer.alloc(16, 0x5a),
          message: encodeRequest({ netFn, cmd, data: Buffer.from(data) }),
        }),
      );
    const reply = await b.transport(v15(0, 0, APP, 0x38, [0x8e, 0x04]));
    const caps = parseResponse(parseV15(parseRmcp(reply!).body).message);
    assert.deepEqual([caps.completion, ...caps.data], [0x00, 0x01, 0x80, 0x04, 0x02, 0, 0, 0, 0]);
    // Chassis Control "power up" in every v1.5 form, even naming the live session: dropped, machine untouched.
    for (const authType of [0x00, 0x01, 0x02, 0x04, 0x05])
      for (const sessionId of [0, active.bmcSessionId]) {
        assert.equal(await b.transport(v15(authType, sessionId, CHASSIS, 0x02, [0x01])), undefined);
        assert.equal(b.lastDrop(), 'needs-session');
      }
    assert.equal(b.machine.actions.length, 0);
  });

  it('answers only discovery commands in RMCP+ without a session', async () => {
    const b = bmc();
    const suites = await b.transport(sessionless(encodeRequest({ netFn: APP, cmd: 0x54, data: Buffer.of(0x0e, 0x00, 0x80) })));
    const response = parseResponse(parseV20(parseRmcp(suites!).body).payload);
    assert.deepEqual([...response.data], [0x01, 0xc0, 0x11, 0x03, 0x44, 0x81, 0xc0, 0x03, 0x01, 0x41, 0x81]);
    for (const [netFn, cmd, data] of [
      [CHASSIS, 0x02, [0x01]],
      [CHASSIS, 0x08, [0x05, 0x80, 0x04, 0, 0, 0]],
      [APP, 0x01, []],
    ] as const) {
      assert.equal(await b.transport(sessionless(encodeRequest({ netFn, cmd, data: Buffer.from(data) }))), undefined);
      assert.equal(b.lastDrop(), 'needs-session');
    }
    assert.equal(b.machine.actions.length, 0);
    assert.equal(b.machine.override, undefined);
  });

  it('drops in-session packets that are unsigned, tampered with or replayed', async () => {
    const b = bmc();
    const console = await adminSession(b);
    const powerOn = encodeRequest({ netFn: CHASSIS, cmd: 0x02, data: Buffer.of(0x01) });
    const plain = encodeRmcp(
      RmcpClass.IPMI,
      encodeV20({ payloadType: 0, encrypted: false, sessionId: console.bmcSessionId, sequence: 50, payload: powerOn }),
    );
    assert.equal(await b.transport(plain), undefined);
    assert.equal(b.lastDrop(), 'unprotected');

    const sealed = console.request(CHASSIS, 0x02, [0x01]);
    for (const at of [20, 30, sealed.length - 1, 10]) {
      const tampered = Buffer.from(sealed);
      tampered[at]! ^= 0x01;
      assert.equal(await b.transport(tampered), undefined, `byte ${at} flipped`);
      assert.ok(['bad-integrity', 'bad-session-trailer', 'unknown-session'].includes(b.lastDrop()!), b.lastDrop());
    }
    assert.equal(b.machine.actions.length, 0);

    assert.equal(console.readReply((await b.transport(sealed))!).completion, 0);
    b.machine.state = 'off';
    assert.equal(await b.transport(sealed), undefined);
    assert.equal(b.lastDrop(), 'sequence-replayed');
    assert.deepEqual(b.machine.actions, ['powerOn']);
    assert.equal(b.machine.state, 'off');
  });

  it('answers a retried request (same IPMI message, new session sequence) without running it twice', async () => {
    const b = bmc();
    const console = await adminSession(b);
    const first = console.readReply((await b.transport(console.request(CHASSIS, 0x02, [0x02], 33)))!);
    const retry = console.readReply((await b.transport(console.request(CHASSIS, 0x02, [0x02], 33)))!);
    assert.deepEqual([first.completion, retry.completion, retry.rqSeq], [0, 0, 33]);
    assert.deepEqual(b.machine.actions, ['cycle']);
    await console.command(CHASSIS, 0x02, [0x02]);
    assert.deepEqual(b.machine.actions, ['cycle', 'cycle']);
    // A retry that arrives while the first run is still in the machine waits for that run.
    const replies = await Promise.all([
      b.transport(console.request(CHASSIS, 0x02, [0x03], 40)),
      b.transport(console.request(CHASSIS, 0x02, [0x03], 40)),
    ]);
    assert.deepEqual(
      replies.map((reply) => console.readReply(reply!).completion),
      [0, 0],
    );
    assert.deepEqual(b.machine.actions, ['cycle', 'cycle', 'reset']);
  });

  it('answers FFh when the machine fails, logs why, and never logs the password', async () => {
    const b = bmc();
    const console = await adminSession(b);
    b.machine.failNext = new Error('QMP socket closed');
    assert.equal((await console.command(CHASSIS, 0x02, [0x01]))?.completion, 0xff);
    assert.ok(b.logs.some(({ level, line }) => level === 'error' && line.includes('QMP socket closed')));
    await b.console({ password: 'wrong-guess', ignoreRakp2Code: true }).open();
    assert.ok(b.logs.some(({ level, line }) => level === 'warn' && line.includes('wrong password')));
    for (const { line } of b.logs) {
      assert.ok(!line.includes(PASSWORD), line);
      assert.ok(!line.includes('wrong-guess'), line);
    }
  });

  it('ends a session after 60 s without traffic', async () => {
    const b = bmc();
    const console = await adminSession(b);
    b.advance(59_000);
    assert.equal((await console.command(CHASSIS, 0x01))?.completion, 0);
    b.advance(59_000);
    assert.equal((await console.command(CHASSIS, 0x01))?.completion, 0);
    b.advance(60_000);
    assert.equal(await console.command(CHASSIS, 0x02, [0x01]), undefined);
    assert.equal(b.lastDrop(), 'unknown-session');
    assert.equal(b.machine.actions.length, 0);
  });

  it('closes a session on Close Session, after answering it', async () => {
    const b = bmc();
    const console = await adminSession(b);
    const id = Buffer.alloc(4);
    id.writeUInt32LE(console.bmcSessionId);
    assert.equal((await console.command(APP, 0x3c, [...id]))?.completion, 0);
    assert.equal(await console.command(CHASSIS, 0x01), undefined);
    assert.equal(b.lastDrop(), 'unknown-session');
  });

  it("lets only an administrator close someone else's session", async () => {
    const b = bmc();
    const victim = await adminSession(b);
    const user = b.console();
    assert.equal(await user.open(), 'active');
    const id = Buffer.alloc(4);
    id.writeUInt32LE(victim.bmcSessionId);
    assert.equal((await user.command(APP, 0x3c, [...id]))?.completion, 0xd4);
    assert.equal((await user.command(APP, 0x3c, [1, 2, 3, 4]))?.completion, 0x87);
    assert.equal((await victim.command(CHASSIS, 0x01))?.completion, 0);
  });

  it('answers an ASF presence ping', async () => {
    const b = bmc();
    const pong = await b.transport(encodeRmcp(RmcpClass.ASF, encodeAsfPing(42)));
    assert.equal(pong?.subarray(4, 10).toString('hex'), '000011be402a');
  });
});
