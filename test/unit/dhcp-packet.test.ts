import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DHCP_PARSE_REASONS, DhcpEncodeError, DhcpParseError, type DhcpParseReason } from '../../src/boot/dhcp/codec-errors.js';
import { describePacket } from '../../src/boot/dhcp/describe-packet.js';
import {
  DhcpMessageType,
  DhcpOption,
  type DhcpOptions,
  getIPv4,
  getIPv4List,
  getString,
  getSubOptions,
  getUint16,
  getUint16List,
  setIPv4,
  setIPv4List,
  setString,
  setUint32,
} from '../../src/boot/dhcp/options.js';
import {
  BootOp,
  type DhcpPacket,
  encodeDhcpPacket,
  encodeDhcpPacketDetailed,
  MAX_DHCP_PACKET_BYTES,
  parseDhcpPacket,
} from '../../src/boot/dhcp/packet.js';
import { parseIPv4 } from '../../src/lib/ipv4.js';

// Fixtures are laid out by hand from RFC 2131 figure 1, field by field, not produced by the encoder.
const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const text = (s: string) => Buffer.from(s, 'latin1');
const zeros = (n: number) => Buffer.alloc(n);
const ip = (s: string) => parseIPv4(s)!;
const COOKIE = hex('63 82 53 63');
const VENDOR_CLASS_HTTP = 'HTTPClient:Arch:00016:UNDI:003001';

const UEFI_HTTP_DISCOVER = Buffer.concat([
  hex('01 01 06 00'), // op BOOTREQUEST, htype Ethernet, hlen 6, hops 0
  hex('5e 1f 2a 3b'), // xid
  hex('00 04 80 00'), // secs 4, flags: broadcast
  hex('00000000 00000000 00000000 00000000'), // ciaddr, yiaddr, siaddr, giaddr
  hex('52 54 00 12 34 56'),
  zeros(10), // chaddr
  zeros(64), // sname
  zeros(128), // file
  COOKIE,
  hex('35 01 01'), // 53 message type: DISCOVER
  hex('39 02 05 c0'), // 57 max message size: 1472
  hex('37 09 01 03 06 0c 0f 2b 3c 42 43'), // 55 parameter request list
  hex('3d 07 01 52 54 00 12 34 56'), // 61 client identifier: Ethernet + MAC
  hex('61 11 00 4c 4c 45 44 00 10 38 80 80 33 b3 c0 4f 50 32 4b'), // 97 UUID: type 0 + 16 bytes
  hex('5e 03 01 03 00'), // 94 client NDI: UNDI 3.0
  hex('5d 02 00 10'), // 93 client architecture: 0x0010, x64 UEFI HTTP
  hex('3c 21'),
  text(VENDOR_CLASS_HTTP), // 60 vendor class identifier
  hex('ff'),
]);

const IPXE_DISCOVER = Buffer.concat([
  hex('01 01 06 00 c0 ff ee 01 00 00 00 00'),
  zeros(16),
  hex('52 54 00 ab cd ef'),
  zeros(10),
  zeros(64 + 128),
  COOKIE,
  hex('35 01 01'), // DISCOVER
  hex('39 02 05 dc'), // max message size 1500
  hex('5d 02 00 07'), // arch 7: x64 UEFI
  hex('5e 03 01 03 0a'), // NDI UNDI 3.10
  hex('3c 20'),
  text('PXEClient:Arch:00007:UNDI:003010'),
  hex('4d 04'),
  text('iPXE'), // 77 user class
  hex('37 06 01 03 06 0c 0f 43'),
  // 175 iPXE features: HTTP, HTTPS, TFTP, DNS, EFI — each sub-option "code 01 01"
  hex('af 0f 13 01 01 14 01 01 15 01 01 17 01 01 24 01 01'),
  hex('3d 07 01 52 54 00 ab cd ef'),
  hex('ff'),
]);

// A REQUEST (SELECTING) forwarded by the rack's leaf switch: giaddr set, hops 1, relay agent information attached.
const RELAYED_REQUEST = Buffer.concat([
  hex('01 01 06 01 00 00 be ef 00 00 00 00'),
  hex('00000000 00000000 00000000 0a 45 00 41'), // giaddr 10.69.0.65
  hex('52 54 00 12 34 56'),
  zeros(10),
  zeros(64 + 128),
  COOKIE,
  hex('35 01 03'), // REQUEST
  hex('32 04 0a 45 00 61'), // 50 requested 10.69.0.97
  hex('36 04 0a 45 00 03'), // 54 server identifier 10.69.0.3
  hex('0c 06'),
  text('node-1'), // 12 hostname
  hex('37 04 01 03 06 0f'),
  hex('52 0e 01 04 73 77 70 31 02 06 0c 42 a1 00 00 01'), // 82: circuit ID "swp1", remote ID (switch MAC)
  hex('ff'),
  zeros(14), // pad to the 300-byte BOOTP minimum
]);

function withOptions(optionBytes: Buffer, header: Buffer = UEFI_HTTP_DISCOVER): Buffer {
  return Buffer.concat([header.subarray(0, 240), optionBytes]);
}

function patched(base: Buffer, offset: number, bytes: Buffer): Buffer {
  const copy = Buffer.from(base);
  bytes.copy(copy, offset);
  return copy;
}

function rejects(bytes: Uint8Array, reason: DhcpParseReason): DhcpParseError {
  let caught: unknown;
  try {
    parseDhcpPacket(bytes);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof DhcpParseError, `expected DhcpParseError(${reason}), got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  return caught;
}

describe('DHCP packet codec: real clients', () => {
  it('reads a UEFI HTTP Boot DISCOVER field by field', () => {
    const packet = parseDhcpPacket(UEFI_HTTP_DISCOVER);
    const { options, ...header } = packet;
    assert.deepEqual(header, {
      op: BootOp.REQUEST,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: 0x5e1f2a3b,
      secs: 4,
      broadcast: true,
      ciaddr: 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: 0,
      chaddr: '52:54:00:12:34:56',
      sname: '',
      file: '',
      messageType: DhcpMessageType.DISCOVER,
    });
    assert.deepEqual([...options.keys()], [57, 55, 61, 97, 94, 93, 60], 'wire order, without 53');
    assert.equal(getUint16(options, DhcpOption.MAX_MESSAGE_SIZE), 1472);
    assert.deepEqual(getUint16List(options, DhcpOption.CLIENT_SYSTEM_ARCHITECTURE), [0x10]);
    assert.equal(getString(options, DhcpOption.VENDOR_CLASS_IDENTIFIER), VENDOR_CLASS_HTTP);
    assert.deepEqual([...options.get(DhcpOption.PARAMETER_REQUEST_LIST)!], [1, 3, 6, 12, 15, 43, 60, 66, 67]);
    assert.deepEqual(options.get(DhcpOption.CLIENT_UUID), hex('00 4c4c4544 0010 3880 8033 b3c04f50324b'));
  });

  it('reads an iPXE DISCOVER: user class, architecture and the encapsulated feature list', () => {
    const packet = parseDhcpPacket(IPXE_DISCOVER);
    assert.equal(packet.xid, 0xc0ffee01);
    assert.equal(packet.broadcast, false);
    assert.equal(getString(packet.options, DhcpOption.USER_CLASS), 'iPXE');
    assert.deepEqual(getUint16List(packet.options, DhcpOption.CLIENT_SYSTEM_ARCHITECTURE), [7]);
    const features = getSubOptions(packet.options, DhcpOption.IPXE_ENCAPSULATED)!;
    assert.deepEqual([...features.keys()], [0x13, 0x14, 0x15, 0x17, 0x24]);
    assert.deepEqual(features.get(0x13), Buffer.of(1));
  });

  it('reads a relayed REQUEST: hops, giaddr, requested address, server identifier and relay agent sub-options', () => {
    const packet = parseDhcpPacket(RELAYED_REQUEST);
    assert.equal(packet.messageType, DhcpMessageType.REQUEST);
    assert.equal(packet.hops, 1);
    assert.equal(packet.giaddr, ip('10.69.0.65'));
    assert.equal(getIPv4(packet.options, DhcpOption.REQUESTED_IP), ip('10.69.0.97'));
    assert.equal(getIPv4(packet.options, DhcpOption.SERVER_IDENTIFIER), ip('10.69.0.3'));
    assert.equal(getString(packet.options, DhcpOption.HOSTNAME), 'node-1');
    const relay = getSubOptions(packet.options, DhcpOption.RELAY_AGENT_INFORMATION)!;
    assert.equal(relay.get(1)!.toString(), 'swp1');
    assert.equal(relay.get(2)!.toString('hex'), '0c42a1000001');
  });

  for (const [name, bytes] of [
    ['UEFI HTTP Boot DISCOVER', UEFI_HTTP_DISCOVER],
    ['iPXE DISCOVER', IPXE_DISCOVER],
    ['relayed REQUEST (padded to 300 bytes)', RELAYED_REQUEST],
  ] as const) {
    it(`re-encodes the ${name} to the same bytes`, () => {
      assert.equal(encodeDhcpPacket(parseDhcpPacket(bytes)).toString('hex'), bytes.toString('hex'));
    });
  }

  it('describes a packet on one line', () => {
    assert.equal(
      describePacket(parseDhcpPacket(RELAYED_REQUEST)),
      'REQUEST xid=0x0000beef chaddr=52:54:00:12:34:56 giaddr=10.69.0.65 requested=10.69.0.97',
    );
    assert.equal(describePacket(parseDhcpPacket(UEFI_HTTP_DISCOVER)), 'DISCOVER xid=0x5e1f2a3b chaddr=52:54:00:12:34:56');
    const odd = parseDhcpPacket(withOptions(hex('35 01 01 32 03 0a 45 00 ff'), RELAYED_REQUEST));
    assert.match(describePacket(odd), /requested=malformed$/, 'a malformed option does not break the log line');
  });

  it('accepts a Uint8Array as well as a Buffer', () => {
    const view = new Uint8Array(UEFI_HTTP_DISCOVER.buffer.slice(0), UEFI_HTTP_DISCOVER.byteOffset, UEFI_HTTP_DISCOVER.length);
    assert.equal(parseDhcpPacket(view).xid, 0x5e1f2a3b);
  });

  it('copies option values, so changing the receive buffer later changes nothing', () => {
    const bytes = Buffer.from(RELAYED_REQUEST);
    const packet = parseDhcpPacket(bytes);
    bytes.fill(0xee);
    assert.equal(getString(packet.options, DhcpOption.HOSTNAME), 'node-1');
  });
});

describe('DHCP packet codec: overload and long options', () => {
  // Options field: DHCPACK, overload = 3 (file and sname), part 1 of option 12; the rest continues in file, then sname.
  const OVERLOADED = Buffer.concat([
    hex('02 01 06 00 00 00 00 2a 00 00 00 00'),
    hex('00000000 0a 45 00 61 00000000 00000000'),
    hex('52 54 00 12 34 56'),
    zeros(10),
    // sname (64): domain name, the tail of the hostname, end, pad
    Buffer.concat([hex('0f 0b'), text('example.com'), hex('0c 03'), text('-01'), hex('ff')]),
    zeros(64 - 19),
    // file (128): subnet mask, router, a second DNS server, end, pad
    Buffer.concat([hex('01 04 ff ff ff c0 03 04 0a 45 00 41 06 04 0a 45 00 02 ff')]),
    zeros(128 - 19),
    COOKIE,
    hex('35 01 05 34 01 03 06 04 0a 45 00 01 0c 04'),
    text('node'),
    hex('ff'),
  ]);

  it('reads options continued in file and then sname, joining split options in that order', () => {
    const packet = parseDhcpPacket(OVERLOADED);
    assert.equal(packet.messageType, DhcpMessageType.ACK);
    assert.equal(packet.yiaddr, ip('10.69.0.97'));
    assert.equal(packet.sname, '', 'sname carries options, not a name');
    assert.equal(packet.file, '', 'file carries options, not a name');
    assert.deepEqual([...packet.options.keys()], [6, 12, 1, 3, 15], 'order of first appearance: options, file, sname');
    assert.deepEqual(getIPv4List(packet.options, DhcpOption.DNS_SERVERS), [ip('10.69.0.1'), ip('10.69.0.2')]);
    assert.equal(getString(packet.options, DhcpOption.HOSTNAME), 'node-01');
    assert.equal(getIPv4(packet.options, DhcpOption.SUBNET_MASK), ip('255.255.255.192'));
    assert.equal(getString(packet.options, DhcpOption.DOMAIN_NAME), 'example.com');
  });

  it('keeps sname as a name when only file is overloaded', () => {
    const fileOnly = patched(OVERLOADED, 245, hex('01')); // option 52's value byte (240: 35 01 05 34 01 03): 1
    const withName = patched(fileOnly, 44, Buffer.concat([text('boot-1'), zeros(58)]));
    const packet = parseDhcpPacket(withName);
    assert.equal(packet.sname, 'boot-1');
    assert.equal(packet.file, '');
    assert.equal(getString(packet.options, DhcpOption.HOSTNAME), 'node', 'the sname part of option 12 is not read');
  });

  it('joins several instances of one option in the options field (RFC 3396)', () => {
    const long = Buffer.alloc(300, 0x61);
    const bytes = withOptions(
      Buffer.concat([hex('35 01 01 0c ff'), long.subarray(0, 255), hex('3d 02 01 02 0c 2d'), long.subarray(255), hex('ff')]),
    );
    const packet = parseDhcpPacket(bytes);
    assert.equal(getString(packet.options, DhcpOption.HOSTNAME), 'a'.repeat(300));
    assert.deepEqual([...packet.options.keys()], [12, 61]);
  });

  it('splits a long option into 255-byte instances when encoding, and reads it back whole', () => {
    const packet = parseDhcpPacket(RELAYED_REQUEST);
    const long = Buffer.alloc(600, 0x5a);
    packet.options.set(43, long);
    const { bytes, dropped } = encodeDhcpPacketDetailed(packet, { maxMessageSize: 1500 });
    assert.deepEqual(dropped, []);
    const at = bytes.indexOf(hex('2b ff 5a'), 240);
    assert.ok(at > 240);
    assert.equal(bytes[at + 2 + 255], 43, 'second instance right after the first');
    assert.equal(bytes[at + 2 + 255 + 1], 255);
    assert.equal(bytes[at + 514], 43, 'third instance');
    assert.equal(bytes[at + 515], 90);
    assert.deepEqual(parseDhcpPacket(bytes).options.get(43), long);
  });
});

describe('DHCP packet codec: encoding replies', () => {
  function offer(options: DhcpOptions): DhcpPacket {
    return {
      op: BootOp.REPLY,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: 0x5e1f2a3b,
      secs: 0,
      broadcast: true,
      ciaddr: 0,
      yiaddr: ip('10.69.0.97'),
      siaddr: ip('10.69.0.3'),
      giaddr: 0,
      chaddr: '52:54:00:12:34:56',
      sname: '',
      file: 'http://10.69.0.3:10080/api/v1/boot/ipxe.efi',
      messageType: DhcpMessageType.OFFER,
      options,
    };
  }

  function standardOptions(): DhcpOptions {
    const options: DhcpOptions = new Map();
    setIPv4(options, DhcpOption.SERVER_IDENTIFIER, ip('10.69.0.3'));
    setUint32(options, DhcpOption.LEASE_TIME, 3600);
    setIPv4(options, DhcpOption.SUBNET_MASK, ip('255.255.255.192'));
    setIPv4List(options, DhcpOption.ROUTER, [ip('10.69.0.1')]);
    setString(options, DhcpOption.VENDOR_CLASS_IDENTIFIER, 'HTTPClient');
    return options;
  }

  it('writes header, cookie, message type first, options in order, end, and pads to 300 bytes', () => {
    const bytes = encodeDhcpPacket(offer(standardOptions()));
    assert.equal(bytes.length, 300);
    assert.deepEqual(bytes.subarray(0, 12), hex('02 01 06 00 5e 1f 2a 3b 00 00 80 00'));
    assert.deepEqual(bytes.subarray(16, 24), hex('0a 45 00 61 0a 45 00 03'), 'yiaddr, siaddr');
    const url = 'http://10.69.0.3:10080/api/v1/boot/ipxe.efi';
    assert.equal(bytes.subarray(108, 108 + url.length).toString(), url);
    assert.equal(bytes[108 + url.length], 0, 'file is NUL-terminated');
    assert.equal(
      bytes.subarray(236, 240 + 3 + 6 + 6 + 6 + 6 + 12 + 1).toString('hex'),
      '63825363' +
        '350102' +
        '36040a450003' +
        '330400000e10' +
        '0104ffffffc0' +
        '03040a450001' +
        '3c0a' +
        text('HTTPClient').toString('hex') +
        'ff',
    );
    assert.ok(bytes.subarray(240 + 40).every((b) => b === 0));
  });

  it('fits the default 576-byte maximum by leaving out whole options that do not fit, and says which', () => {
    const options = standardOptions();
    options.set(43, Buffer.alloc(200, 1));
    options.set(125, Buffer.alloc(150, 2)); // does not fit after 43
    options.set(12, text('node-1')); // still fits after that
    const { bytes, dropped } = encodeDhcpPacketDetailed(offer(options));
    assert.deepEqual(dropped, [125]);
    assert.ok(bytes.length <= 576 - 28, `${bytes.length} bytes`);
    assert.deepEqual([...parseDhcpPacket(bytes).options.keys()], [54, 51, 1, 3, 60, 43, 12]);
  });

  it("uses the client's larger maximum message size, and treats values under 576 as 576", () => {
    const options = standardOptions();
    options.set(43, Buffer.alloc(200, 1));
    options.set(125, Buffer.alloc(150, 2));
    assert.deepEqual(encodeDhcpPacketDetailed(offer(options), { maxMessageSize: 1500 }).dropped, []);
    assert.deepEqual(encodeDhcpPacketDetailed(offer(options), { maxMessageSize: 300 }).dropped, [125]);
  });

  it('refuses rather than drop an option the caller requires', () => {
    const options = standardOptions();
    options.set(43, Buffer.alloc(300, 1));
    assert.throws(
      () => encodeDhcpPacket(offer(options), { required: [DhcpOption.SERVER_IDENTIFIER, 43] }),
      (e: unknown) => e instanceof DhcpEncodeError && e.reason === 'oversized' && /option 43/.test(e.message),
    );
  });

  it('refuses header values that do not fit their fields', () => {
    const cases: [Partial<DhcpPacket>, RegExp][] = [
      [{ xid: 2 ** 32 }, /xid/],
      [{ secs: -1 }, /secs/],
      [{ yiaddr: 1.5 }, /yiaddr/],
      [{ hlen: 16 }, /hlen/],
      [{ chaddr: '52:54:00:12:34' }, /hlen/],
      [{ chaddr: 'not a mac' }, /chaddr/],
      [{ file: 'x'.repeat(128) }, /file/],
      [{ sname: 'a\0b' }, /sname/],
      [{ op: 3 as BootOp }, /op/],
      [{ messageType: 9 as DhcpMessageType }, /messageType/],
    ];
    for (const [change, message] of cases) {
      assert.throws(
        () => encodeDhcpPacket({ ...offer(new Map()), ...change }),
        (e: unknown) => e instanceof DhcpEncodeError && e.reason === 'bad-field' && message.test(e.message),
        JSON.stringify(change),
      );
    }
  });

  it('refuses option codes that belong to the framing: pad, end, overload, message type', () => {
    for (const code of [0, 52, 53, 255, 256]) {
      assert.throws(
        () => encodeDhcpPacket(offer(new Map([[code, Buffer.of(1)]]))),
        (e: unknown) => e instanceof DhcpEncodeError && e.reason === 'bad-option',
        `code ${code}`,
      );
    }
  });
});

describe('DHCP packet codec: malformed packets', () => {
  it('has a reason for each way a packet can be malformed', () => {
    assert.equal(new Set(DHCP_PARSE_REASONS).size, DHCP_PARSE_REASONS.length);
  });

  it('leaves stack traces of other errors alone (parse errors skip theirs, for speed under a flood)', () => {
    const error = rejects(Buffer.alloc(0), 'truncated');
    assert.equal(error.stack?.split('\n').length, 1);
    assert.ok(new Error('x').stack!.split('\n').length > 1);
  });

  it('refuses empty and short packets as truncated', () => {
    rejects(Buffer.alloc(0), 'truncated');
    rejects(UEFI_HTTP_DISCOVER.subarray(0, 100), 'truncated');
    rejects(UEFI_HTTP_DISCOVER.subarray(0, 239), 'truncated');
  });

  it('refuses packets over the size limit before reading them', () => {
    rejects(Buffer.concat([RELAYED_REQUEST, zeros(MAX_DHCP_PACKET_BYTES - 300 + 1)]), 'oversized');
    assert.equal(parseDhcpPacket(Buffer.concat([RELAYED_REQUEST, zeros(MAX_DHCP_PACKET_BYTES - 300)])).xid, 0xbeef);
  });

  it('refuses a wrong op, hlen over 16 and a wrong magic cookie', () => {
    rejects(patched(UEFI_HTTP_DISCOVER, 0, hex('00')), 'bad-op');
    rejects(patched(UEFI_HTTP_DISCOVER, 0, hex('03')), 'bad-op');
    rejects(patched(UEFI_HTTP_DISCOVER, 2, hex('11')), 'bad-hlen');
    assert.equal(parseDhcpPacket(patched(UEFI_HTTP_DISCOVER, 2, hex('10'))).chaddr.length, 16 * 3 - 1);
    assert.equal(parseDhcpPacket(patched(UEFI_HTTP_DISCOVER, 2, hex('00'))).chaddr, '');
    rejects(patched(UEFI_HTTP_DISCOVER, 236, hex('63 82 53 64')), 'bad-cookie');
  });

  it('refuses an option whose length runs past the end, or that has no length byte', () => {
    const error = rejects(withOptions(hex('35 01 01 0c 09 61 62')), 'bad-option-length');
    assert.equal(error.option, 12);
    rejects(withOptions(hex('35 01 01 0c')), 'bad-option-length');
  });

  it('refuses options without an end option, padding or not', () => {
    rejects(withOptions(hex('35 01 01')), 'missing-end');
    rejects(withOptions(Buffer.concat([hex('35 01 01'), zeros(57)])), 'missing-end');
    rejects(withOptions(hex('')), 'missing-end');
  });

  it('refuses a bad overload option, and overloaded fields that are malformed', () => {
    rejects(withOptions(hex('35 01 01 34 01 04 ff')), 'bad-overload');
    rejects(withOptions(hex('35 01 01 34 01 00 ff')), 'bad-overload');
    rejects(withOptions(hex('35 01 01 34 02 01 01 ff')), 'bad-overload');
    const overloadFile = (file: Buffer) => withOptions(hex('35 01 01 34 01 01 ff'), patched(UEFI_HTTP_DISCOVER, 108, file));
    rejects(overloadFile(hex('34 01 02 ff')), 'bad-overload');
    rejects(overloadFile(hex('0c 02 61 62')), 'missing-end'); // the rest of file is zeros: pad, and no end
    const runsOut = Buffer.concat([zeros(120), hex('0c 07 61 62 63 64 65 66')]); // runs past file into the cookie
    rejects(overloadFile(runsOut), 'bad-option-length');
  });

  it('refuses BOOTP packets and unknown message types', () => {
    rejects(withOptions(hex('0c 02 61 62 ff')), 'missing-message-type');
    rejects(withOptions(hex('35 01 00 ff')), 'bad-message-type');
    rejects(withOptions(hex('35 01 09 ff')), 'bad-message-type');
    rejects(withOptions(hex('35 02 01 01 ff')), 'bad-message-type');
    rejects(withOptions(hex('35 01 01 35 01 01 ff')), 'bad-message-type'); // two instances join into two bytes
  });
});
