/**
 * The IPMI decoders and the protocol engine under generated junk
 * (fast-check): random bytes and mutations of valid datagrams of every kind —
 * presence ping, v1.5 probes and chassis control, session-less RMCP+,
 * Open Session, RAKP 1 and 3, and a sealed in-session Chassis Control. The
 * parsers throw nothing but IpmiParseError; the engine always answers or
 * names a drop reason, never throws, and never touches the in-memory machine;
 * the live session still works afterwards.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IpmiEndpoint } from '../../src/vdc/bmc/ipmi/endpoint.js';
import {
  encodeOpenSessionRequest,
  encodeRakp1,
  encodeRakp3,
  parseOpenSessionRequest,
  parseOpenSessionResponse,
  parseRakp1,
  parseRakp2,
  parseRakp3,
  parseRakp4,
} from '../../src/vdc/bmc/ipmi/handshake-payloads.js';
import { encodeRequest, parseRequest, parseResponse } from '../../src/vdc/bmc/ipmi/message.js';
import { IpmiParseError } from '../../src/vdc/bmc/ipmi/parse-error.js';
import { encodeAsfPing, encodeRmcp, parseAsfPing, parseRmcp, RmcpClass } from '../../src/vdc/bmc/ipmi/rmcp.js';
import { encodeV15, parseV15 } from '../../src/vdc/bmc/ipmi/session-v15.js';
import { encodeV20, parseV20, readSessionTrailer } from '../../src/vdc/bmc/ipmi/session-v20.js';
import { InMemoryMachine, TestConsole } from './vdc-ipmi-support.js';

const RUNS = Number(process.env.YAGURA_IPMI_FUZZ_RUNS ?? 10_000);
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

const rmcpPlus = (payloadType: number, payload: Buffer, sessionId = 0) =>
  encodeRmcp(RmcpClass.IPMI, encodeV20({ payloadType, encrypted: false, sessionId, sequence: 0, payload }));

/** Valid datagrams of every kind the BMC reads, to mutate. */
function seeds(sealed: Buffer[], bmcSessionId: number): Buffer[] {
  return [
    encodeRmcp(RmcpClass.ASF, encodeAsfPing(3)),
    encodeRmcp(RmcpClass.IPMI, encodeV15({ message: encodeRequest({ netFn: 0x06, cmd: 0x38, data: Buffer.of(0x8e, 0x04) }) })),
    encodeRmcp(
      RmcpClass.IPMI,
      encodeV15({
        authType: 2,
        sessionId: bmcSessionId,
        authCode: Buffer.alloc(16),
        message: encodeRequest({ netFn: 0, cmd: 2, data: Buffer.of(1) }),
      }),
    ),
    rmcpPlus(0x00, encodeRequest({ netFn: 0x06, cmd: 0x54, data: Buffer.of(0x0e, 0, 0x80) })),
    rmcpPlus(0x00, encodeRequest({ netFn: 0x00, cmd: 0x02, data: Buffer.of(0x01) })),
    rmcpPlus(
      0x10,
      encodeOpenSessionRequest({
        tag: 0,
        maxPrivilege: 0,
        consoleSessionId: 5,
        authentication: 3,
        integrity: 4,
        confidentiality: 1,
      }),
    ),
    rmcpPlus(
      0x12,
      encodeRakp1({ tag: 0, bmcSessionId, consoleRandom: Buffer.alloc(16, 7), role: 0x14, username: Buffer.from('admin') }),
    ),
    rmcpPlus(0x14, encodeRakp3({ tag: 0, status: 0, bmcSessionId, authCode: Buffer.alloc(32, 9) })),
    ...sealed,
  ];
}

type Mutation =
  | { kind: 'flip'; at: number; bits: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'set'; at: number; value: number };

const mutation: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof<fc.Arbitrary<Mutation>[]>(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
    fc.record({
      kind: fc.constant('set' as const),
      at: fc.nat(),
      value: fc.constantFrom(0x00, 0x06, 0x07, 0x10, 0x12, 0x14, 0x80, 0xc0, 0xff),
    }),
  ),
  { minLength: 1, maxLength: 4 },
);

function mutate(datagram: Buffer, steps: Mutation[]): Buffer {
  let out = Buffer.from(datagram);
  for (const step of steps) {
    if (step.kind === 'append') out = Buffer.concat([out, step.bytes]);
    else if (out.length === 0) continue;
    else if (step.kind === 'truncate') out = out.subarray(0, step.at % out.length);
    else if (step.kind === 'flip') out[step.at % out.length]! ^= step.bits;
    else out[step.at % out.length] = step.value;
  }
  return out;
}

describe('IPMI decoders and engine under fuzzing', { timeout: 300_000 }, () => {
  it('parsers throw nothing but IpmiParseError, on random and mutated input', () => {
    const parsers: ((bytes: Buffer) => unknown)[] = [
      parseRmcp,
      parseAsfPing,
      parseV15,
      (b) => {
        const packet = parseV20(b);
        return packet.authenticated ? readSessionTrailer(b, packet, 12) : packet;
      },
      parseRequest,
      parseResponse,
      parseOpenSessionRequest,
      parseOpenSessionResponse,
      parseRakp1,
      (b) => parseRakp2(b, 20),
      parseRakp3,
      parseRakp4,
    ];
    const valid = seeds([], 0x12345678).map((d) => d.subarray(4));
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc.tuple(fc.constantFrom(...valid), mutation).map(([seed, steps]) => mutate(seed, steps)),
    );
    fc.assert(
      fc.property(input, (bytes) => {
        for (const parse of parsers)
          try {
            parse(bytes);
          } catch (error) {
            if (!(error instanceof IpmiParseError)) throw error;
          }
      }),
      { numRuns: RUNS },
    );
  });

  it('the engine answers or drops every datagram, never throws, and never touches the machine', async () => {
    const machine = new InMemoryMachine();
    const endpoint = new IpmiEndpoint({ username: 'admin', password: 'pw', machine, log: SILENT });
    const transport = async (datagram: Buffer) => (await endpoint.handle(datagram, 'fuzz')).reply;
    const console = new TestConsole(transport, { username: 'admin', password: 'pw', suite: 17 });
    assert.equal(await console.open(), 'active');
    await console.command(0x06, 0x3b, [0x04]);
    // Sent once before fuzzing, so that a mutation leaving the signed bytes intact (say, of the RMCP header,
    // which the integrity code does not cover) is a replay.
    const sealed = [console.request(0x00, 0x02, [0x01]), console.request(0x00, 0x08, [0x05, 0x80, 0x04, 0, 0, 0])];
    for (const datagram of sealed) assert.equal(console.readReply((await transport(datagram))!).completion, 0);
    machine.actions.length = 0;
    machine.state = 'off';
    machine.override = undefined;

    const all = seeds(sealed, console.bmcSessionId);
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc.tuple(fc.constantFrom(...all), mutation).map(([seed, steps]) => mutate(seed, steps)),
      fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 120 }), fc.constantFrom(0x00, 0x06)).map(([tail, auth]) =>
        // RMCP header and a plausible auth type, so that the junk reaches the session layers.
        Buffer.concat([Buffer.of(0x06, 0x00, 0xff, 0x07, auth), tail]),
      ),
    );
    await fc.assert(
      fc.asyncProperty(input, async (datagram) => {
        const outcome = await endpoint.handle(datagram, 'fuzz');
        assert.ok((outcome.reply === undefined) !== (outcome.dropped === undefined), JSON.stringify(outcome));
        assert.equal(machine.actions.length, 0);
        assert.equal(machine.override, undefined);
      }),
      { numRuns: RUNS },
    );
    assert.equal((await console.command(0x00, 0x01))?.completion, 0, 'the session survives the fuzzing');
  });
});
