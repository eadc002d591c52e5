import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DhcpEncodeError, DhcpParseError } from '../../src/boot/dhcp/codec-errors.js';
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
  getUint32,
  getUint8,
  isDhcpMessageType,
  messageTypeName,
  setIPv4,
  setIPv4List,
  setString,
  setSubOptions,
  setUint16,
  setUint16List,
  setUint32,
  setUint8,
} from '../../src/boot/dhcp/options.js';
import { parseIPv4 } from '../../src/lib/ipv4.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ip = (s: string) => parseIPv4(s)!;
const raw = (entries: [number, string][]): DhcpOptions => new Map(entries.map(([code, h]) => [code, hex(h)]));

function badValue(read: () => unknown, option: number): void {
  assert.throws(read, (e: unknown) => e instanceof DhcpParseError && e.reason === 'bad-option-value' && e.option === option);
}

describe('DHCP options: typed values', () => {
  it('names the RFC 2132 and PXE option codes and the message types', () => {
    assert.equal(DhcpOption.CLIENT_SYSTEM_ARCHITECTURE, 93);
    assert.equal(DhcpOption.IPXE_ENCAPSULATED, 175);
    assert.equal(DhcpOption.RELAY_AGENT_INFORMATION, 82);
    assert.deepEqual(Object.values(DhcpMessageType), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(messageTypeName(DhcpMessageType.NAK), 'NAK');
    assert.equal(messageTypeName(13), 'TYPE13');
    assert.equal(isDhcpMessageType(8), true);
    assert.equal(isDhcpMessageType(9), false);
  });

  it('reads addresses, numbers, lists and text; an absent option is undefined', () => {
    const options = raw([
      [1, 'ff ff ff c0'],
      [6, '0a 45 00 01 0a 45 00 02'],
      [51, '00 00 0e 10'],
      [57, '05 c0'],
      [93, '00 07 00 10'],
      [52, '03'],
      [12, '6e 6f 64 65 00'],
    ]);
    assert.equal(getIPv4(options, 1), ip('255.255.255.192'));
    assert.deepEqual(getIPv4List(options, 6), [ip('10.69.0.1'), ip('10.69.0.2')]);
    assert.equal(getUint32(options, 51), 3600);
    assert.equal(getUint16(options, 57), 1472);
    assert.deepEqual(getUint16List(options, 93), [7, 16]);
    assert.equal(getUint8(options, 52), 3);
    assert.equal(getString(options, 12), 'node', 'a trailing NUL is not part of the name');
    assert.equal(getIPv4(options, 3), undefined);
    assert.equal(getString(options, 15), undefined);
  });

  it('refuses values of the wrong size for their type, naming the option', () => {
    const options = raw([
      [50, '0a 45 00'],
      [6, '0a 45 00 01 0a'],
      [3, ''],
      [57, '05'],
      [51, '00 00 0e 10 00'],
      [93, '00 07 00'],
      [52, '01 02'],
    ]);
    badValue(() => getIPv4(options, 50), 50);
    badValue(() => getIPv4List(options, 6), 6);
    badValue(() => getIPv4List(options, 3), 3);
    badValue(() => getUint16(options, 57), 57);
    badValue(() => getUint32(options, 51), 51);
    badValue(() => getUint16List(options, 93), 93);
    badValue(() => getUint8(options, 52), 52);
  });

  it('reads text that is not UTF-8 without failing', () => {
    assert.equal(getString(raw([[12, 'ff 61']]), 12), '\ufffda');
  });

  it('reads sub-options, skipping pad, stopping at end and joining repeats; refuses one that runs past the option', () => {
    const options = raw([
      [82, '01 02 61 62 00 02 01 ff 01 01 63 ff 09 09'],
      [175, '13 01 01 15 05 01'],
    ]);
    assert.deepEqual(
      getSubOptions(options, 82),
      new Map([
        [1, Buffer.from('abc')],
        [2, hex('ff')],
      ]),
    );
    badValue(() => getSubOptions(options, 175), 175);
    assert.equal(getSubOptions(options, 43), undefined);
  });

  it('writes values back in the bytes the getters read', () => {
    const options: DhcpOptions = new Map();
    setIPv4(options, DhcpOption.SERVER_IDENTIFIER, ip('10.69.0.3'));
    setIPv4List(options, DhcpOption.DNS_SERVERS, [ip('10.69.0.1'), ip('10.69.0.2')]);
    setUint8(options, 19, 0);
    setUint16(options, DhcpOption.MAX_MESSAGE_SIZE, 1500);
    setUint32(options, DhcpOption.LEASE_TIME, 0xffffffff);
    setUint16List(options, DhcpOption.CLIENT_SYSTEM_ARCHITECTURE, [0x10]);
    setString(options, DhcpOption.BOOTFILE_NAME, 'http://10.69.0.3/ipxe.efi');
    setSubOptions(options, DhcpOption.IPXE_ENCAPSULATED, new Map([[0x13, Buffer.of(1)]]));
    assert.deepEqual(
      [...options].map(([code, value]) => [code, value.toString('hex')]),
      [
        [54, '0a450003'],
        [6, '0a4500010a450002'],
        [19, '00'],
        [57, '05dc'],
        [51, 'ffffffff'],
        [93, '0010'],
        [67, Buffer.from('http://10.69.0.3/ipxe.efi').toString('hex')],
        [175, '130101'],
      ],
    );
    assert.equal(getUint32(options, DhcpOption.LEASE_TIME), 0xffffffff);
    assert.deepEqual(getSubOptions(options, DhcpOption.IPXE_ENCAPSULATED), new Map([[0x13, Buffer.of(1)]]));
  });

  it('keeps an option in its place when it is set again', () => {
    const options: DhcpOptions = new Map();
    setUint32(options, 51, 60);
    setIPv4(options, 1, 0);
    setUint32(options, 51, 120);
    assert.deepEqual([...options.keys()], [51, 1]);
    assert.equal(getUint32(options, 51), 120);
  });

  it('refuses values an option cannot carry', () => {
    const options: DhcpOptions = new Map();
    const refused = (write: () => void) =>
      assert.throws(write, (e: unknown) => e instanceof DhcpEncodeError && e.reason === 'bad-option');
    refused(() => setIPv4(options, 54, 2 ** 32));
    refused(() => setIPv4(options, 54, -1));
    refused(() => setUint8(options, 19, 256));
    refused(() => setUint16(options, 57, 1.5));
    refused(() => setIPv4List(options, 6, []));
    refused(() => setUint16List(options, 93, [0x10000]));
    refused(() => setString(options, 12, ''));
    refused(() => setSubOptions(options, 82, new Map([[0, Buffer.of(1)]])));
    refused(() => setSubOptions(options, 82, new Map([[1, Buffer.alloc(256)]])));
    assert.equal(options.size, 0, 'nothing half-written');
  });
});
