/**
 * Properties of the DHCP codec over generated packets (fast-check): what the
 * encoder writes parses back to the same packet; packets laid out with
 * overload and split options — by a layout written here, not by the encoder —
 * parse to the packet they encode; and no input, random or a mutated valid
 * packet, makes parsing throw anything but DhcpParseError or run long.
 * 110,000 cases in all.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DhcpEncodeError, DhcpParseError } from '../../src/boot/dhcp/codec-errors.js';
import { describePacket } from '../../src/boot/dhcp/describe-packet.js';
import {
  type DhcpMessageType,
  type DhcpOptions,
  getIPv4,
  getIPv4List,
  getString,
  getSubOptions,
  getUint16,
  getUint16List,
  getUint32,
  getUint8,
} from '../../src/boot/dhcp/options.js';
import {
  type BootOp,
  type DhcpPacket,
  encodeDhcpPacket,
  encodeDhcpPacketDetailed,
  MAX_DHCP_PACKET_BYTES,
  parseDhcpPacket,
} from '../../src/boot/dhcp/packet.js';

const PROPERTY_TIMEOUT_MS = 120_000;

// ---- the model

const uint = (bits: number) => fc.integer({ min: 0, max: 2 ** bits - 1 });
const optionCode = fc.integer({ min: 1, max: 254 }).filter((code) => code !== 52 && code !== 53);
const fieldText = (maxBytes: number) =>
  fc.string({ unit: 'grapheme', maxLength: maxBytes }).filter((s) => !s.includes('\0') && Buffer.byteLength(s) <= maxBytes);

/** `size: 'max'` spreads value lengths evenly up to the maximum instead of favouring short ones. */
function optionsArbitrary(maxOptions: number, maxValueBytes: number, size?: 'max'): fc.Arbitrary<DhcpOptions> {
  return fc
    .uniqueArray(fc.tuple(optionCode, fc.uint8Array({ maxLength: maxValueBytes, size })), {
      selector: ([code]) => code,
      maxLength: maxOptions,
      size,
    })
    .map((entries) => new Map(entries.map(([code, value]) => [code, Buffer.from(value)])));
}

function packetArbitrary(options: fc.Arbitrary<DhcpOptions>): fc.Arbitrary<DhcpPacket> {
  return fc
    .record({
      op: fc.constantFrom<BootOp>(1, 2),
      htype: uint(8),
      chaddrBytes: fc.uint8Array({ maxLength: 16 }),
      hops: uint(8),
      xid: uint(32),
      secs: uint(16),
      broadcast: fc.boolean(),
      ciaddr: uint(32),
      yiaddr: uint(32),
      siaddr: uint(32),
      giaddr: uint(32),
      sname: fieldText(63),
      file: fieldText(127),
      messageType: fc.integer({ min: 1, max: 8 }) as fc.Arbitrary<DhcpMessageType>,
      options,
    })
    .map(({ chaddrBytes, ...rest }) => ({
      ...rest,
      hlen: chaddrBytes.length,
      chaddr: Array.from(chaddrBytes, (b) => b.toString(16).padStart(2, '0')).join(':'),
    }));
}

/** A packet as plain data, options as an ordered list, so deepEqual also checks their order. */
function plain(packet: DhcpPacket): object {
  return { ...packet, options: [...packet.options].map(([code, value]) => [code, value.toString('hex')]) };
}

// ---- an independent layout with overload: header, then option instances poured into options, file, sname

interface Layout {
  packet: DhcpPacket;
  bytes: Buffer;
  /** Option instances carried in file or sname. */
  overloaded: number;
}

const layoutArbitrary: fc.Arbitrary<Layout> = fc
  .record({
    packet: packetArbitrary(optionsArbitrary(8, 40)),
    cuts: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 40 }),
    pads: fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 40 }),
    useFile: fc.boolean(),
    useSname: fc.boolean(),
    snameShare: fc.nat({ max: 8 }),
    fileShare: fc.nat({ max: 8 }),
  })
  .map(({ packet, cuts, pads, useFile, useSname, snameShare, fileShare }) => {
    // Every value cut into instances at arbitrary points: RFC 3396 lets the sender split anywhere.
    const instances: Buffer[] = [Buffer.of(53, 1, packet.messageType)];
    let cut = 0;
    for (const [code, value] of packet.options) {
      let from = 0;
      do {
        const length = Math.min(255, value.length - from, cuts[cut++ % Math.max(1, cuts.length)] ?? 255);
        instances.push(Buffer.concat([Buffer.of(code, length), value.subarray(from, from + length)]));
        from += length;
      } while (from < value.length);
    }
    const padded = instances.map((instance, i) =>
      Buffer.concat([Buffer.alloc(pads[i % Math.max(1, pads.length)] ?? 0), instance]),
    );
    // The last instances that fit go to sname, the ones before them to file, the rest stay in options: order is kept.
    const before = padded.length;
    const sname = useSname ? takeTail(padded, 63, snameShare) : undefined;
    const file = useFile ? takeTail(padded, 127, fileShare) : undefined;
    const overload = (file ? 1 : 0) | (sname ? 2 : 0);
    const optionsField = Buffer.concat([...padded, overload ? Buffer.of(52, 1, overload) : Buffer.alloc(0), Buffer.of(255)]);
    const header = Buffer.alloc(236);
    header[0] = packet.op;
    header[1] = packet.htype;
    header[2] = packet.hlen;
    header[3] = packet.hops;
    header.writeUInt32BE(packet.xid, 4);
    header.writeUInt16BE(packet.secs, 8);
    header.writeUInt16BE(packet.broadcast ? 0x8000 : 0, 10);
    [packet.ciaddr, packet.yiaddr, packet.siaddr, packet.giaddr].forEach((a, i) => header.writeUInt32BE(a, 12 + 4 * i));
    Buffer.from(packet.chaddr.replaceAll(':', ''), 'hex').copy(header, 28);
    (sname ?? Buffer.from(packet.sname)).copy(header, 44);
    (file ?? Buffer.from(packet.file)).copy(header, 108);
    const bytes = Buffer.concat([header, Buffer.of(99, 130, 83, 99), optionsField]);
    return {
      packet: { ...packet, sname: sname ? '' : packet.sname, file: file ? '' : packet.file },
      bytes,
      overloaded: before - padded.length,
    };
  });

/** Removes up to `count` instances from the end of `list` that fit, with an end option, in `room` bytes; returns the field. */
function takeTail(list: Buffer[], room: number, count: number): Buffer {
  const taken: Buffer[] = [];
  let used = 0;
  // The message type (first) stays in the options field.
  while (taken.length < count && list.length > 1 && used + list[list.length - 1]!.length <= room) {
    const instance = list.pop()!;
    used += instance.length;
    taken.unshift(instance);
  }
  return Buffer.concat([...taken, Buffer.of(255)]);
}

// ---- robustness

/** Parses, and on success reads every option every way and describes the packet: only DhcpParseError may come out. */
function parseAndReadEverything(bytes: Uint8Array): DhcpPacket | undefined {
  try {
    const packet = parseDhcpPacket(bytes);
    describePacket(packet);
    for (const code of packet.options.keys()) {
      for (const read of [getIPv4, getIPv4List, getUint8, getUint16, getUint32, getUint16List, getString, getSubOptions]) {
        try {
          read(packet.options, code);
        } catch (error) {
          if (!(error instanceof DhcpParseError)) throw error;
        }
      }
    }
    return packet;
  } catch (error) {
    if (error instanceof DhcpParseError) return undefined;
    throw error;
  }
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number };

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 2, 52, 53, 255) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  },
);

function mutate(original: Buffer, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(original);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    if (m.kind === 'flip' && bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << m.bit);
    else if (m.kind === 'set' && bytes.length > 0) bytes[at] = m.value;
    else if (m.kind === 'truncate') bytes = bytes.subarray(0, at);
    else if (m.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
    else if (m.kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.count)]);
  }
  return bytes;
}

describe('DHCP codec properties', () => {
  it('parses what it encodes back to the same packet (5,000 packets)', { timeout: PROPERTY_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(packetArbitrary(optionsArbitrary(12, 300, 'max')), (packet) => {
        const { bytes, dropped } = encodeDhcpPacketDetailed(packet, { maxMessageSize: 65535 });
        assert.deepEqual(dropped, []);
        assert.ok(bytes.length >= 300);
        assert.deepEqual(plain(parseDhcpPacket(bytes)), plain(packet));
      }),
      { numRuns: 5_000 },
    );
  });

  it(
    'fits the default 576-byte limit, keeping options in order and dropping only ones that cannot fit (5,000 packets)',
    { timeout: PROPERTY_TIMEOUT_MS },
    () => {
      let withDrops = 0;
      fc.assert(
        fc.property(packetArbitrary(optionsArbitrary(12, 120, 'max')), (packet) => {
          const { bytes, dropped } = encodeDhcpPacketDetailed(packet);
          if (dropped.length > 0) withDrops += 1;
          const parsed = parseDhcpPacket(bytes);
          const kept = [...packet.options].filter(([code]) => !dropped.includes(code));
          assert.deepEqual(plain(parsed), plain({ ...packet, options: new Map(kept) }));
          const used = 240 + 3 + kept.reduce((sum, [, v]) => sum + wireLength(v.length), 0) + 1;
          assert.ok(used <= 548 && bytes.length <= 548);
          for (const code of dropped)
            assert.ok(used + wireLength(packet.options.get(code)!.length) > 548, `option ${code} would have fit`);
        }),
        { numRuns: 5_000 },
      );
      assert.ok(withDrops > 1_000, `only ${withDrops} packets needed options dropped`);
    },
  );

  it(
    'parses packets laid out with overload and split options to the packet they carry (10,000 layouts)',
    { timeout: PROPERTY_TIMEOUT_MS },
    () => {
      let overloaded = 0;
      fc.assert(
        fc.property(layoutArbitrary, ({ packet, bytes, overloaded: carried }) => {
          if (carried > 0) overloaded += 1;
          assert.deepEqual(plain(parseDhcpPacket(bytes)), plain(packet));
        }),
        { numRuns: 10_000 },
      );
      assert.ok(overloaded > 3_000, `only ${overloaded} layouts carried options in file or sname`);
    },
  );

  it('refuses random bytes only with DhcpParseError (30,000 buffers)', { timeout: PROPERTY_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        parseAndReadEverything(bytes);
      }),
      { numRuns: 30_000 },
    );
  });

  it(
    'refuses a valid header followed by random options only with DhcpParseError (30,000 buffers)',
    { timeout: PROPERTY_TIMEOUT_MS },
    () => {
      const header = encodeDhcpPacket(fc.sample(packetArbitrary(fc.constant(new Map())), { numRuns: 1, seed: 1 })[0]!).subarray(
        0,
        240,
      );
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), fc.option(fc.constantFrom(1, 2, 3)), (tail, overload) => {
          const prefix = overload === null ? Buffer.of(53, 1, 1) : Buffer.of(53, 1, 1, 52, 1, overload);
          parseAndReadEverything(Buffer.concat([header, prefix, tail]));
        }),
        { numRuns: 30_000 },
      );
    },
  );

  it(
    'survives mutations of valid packets; what still parses re-encodes to itself (30,000 mutants)',
    { timeout: PROPERTY_TIMEOUT_MS },
    () => {
      const valid = fc.oneof(
        layoutArbitrary.map((layout) => layout.bytes),
        packetArbitrary(optionsArbitrary(6, 40)).map((packet) => encodeDhcpPacket(packet)),
      );
      let parsed = 0;
      fc.assert(
        fc.property(valid, fc.array(mutationArbitrary, { minLength: 1, maxLength: 4 }), (bytes, mutations) => {
          const packet = parseAndReadEverything(mutate(bytes, mutations));
          if (packet === undefined) return;
          parsed += 1;
          let again: Buffer;
          try {
            again = encodeDhcpPacket(packet, { maxMessageSize: 65535 });
          } catch (error) {
            // A mutant's sname/file may hold 64/128 bytes without a NUL, which we never send.
            if (error instanceof DhcpEncodeError && error.reason === 'bad-field') return;
            throw error;
          }
          assert.deepEqual(plain(parseDhcpPacket(again)), plain(packet));
        }),
        { numRuns: 30_000 },
      );
      assert.ok(parsed > 3_000, `only ${parsed} mutants parsed: the mutations are too destructive to test much`);
    },
  );

  it('parses the slowest-shaped packets in bounded time', { timeout: 10_000 }, () => {
    const header = encodeDhcpPacket(fc.sample(packetArbitrary(fc.constant(new Map())), { numRuns: 1, seed: 2 })[0]!).subarray(
      0,
      240,
    );
    const room = MAX_DHCP_PACKET_BYTES - 240 - 3 - 1 - 2;
    const codeOf = (i: number) => (1 + (i % 250) >= 52 ? 3 + (i % 250) : 1 + (i % 250)); // 1–252 without 52 and 53
    const shapes: [name: string, options: Buffer, parses: boolean][] = [
      // ~1,300 one-byte options over 250 codes: many values to join
      ['many options', Buffer.from(Array.from({ length: room / 3 }, (_, i) => [codeOf(i), 1, i & 255]).flat()), true],
      // ~1,900 empty instances of one code
      ['empty instances', Buffer.from(Array.from({ length: room / 2 }, () => [12, 0]).flat()), true],
      // all pad and no end: read to the last byte, then refused
      ['pads only', Buffer.alloc(room), false],
    ];
    for (const [name, options, parses] of shapes) {
      const bytes = Buffer.concat([header, Buffer.of(53, 1, 1), options, parses ? Buffer.of(255) : Buffer.alloc(0)]);
      assert.ok(bytes.length <= MAX_DHCP_PACKET_BYTES);
      assert.equal(parseAndReadEverything(bytes) !== undefined, parses, name);
      const started = process.hrtime.bigint();
      for (let i = 0; i < 1000; i++) {
        try {
          parseDhcpPacket(bytes);
        } catch {
          // timed either way
        }
      }
      const microseconds = Number(process.hrtime.bigint() - started) / 1000 / 1000;
      // About 150 µs for the many-options shape on a 2-core VM; the bound only catches work that grows faster than the input.
      assert.ok(microseconds < 5000, `${name}: ${microseconds} µs per parse`);
    }
  });
});

function wireLength(length: number): number {
  return length === 0 ? 2 : length + 2 * Math.ceil(length / 255);
}
