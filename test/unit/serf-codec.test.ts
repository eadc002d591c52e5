/**
 * The pure half of the serf RPC client: serf's wire objects (as
 * @msgpack/msgpack decodes what serf 0.9.4 sends) to Yagura's members, the
 * rule for which responses carry a body, and serf's error text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import {
  addressFromBytes,
  headerFromWire,
  memberFromWire,
  membersFromWire,
  responseHasBody,
  SerfProtocolError,
  serfErrorText,
} from '../../src/lib/serf-codec.js';

/** A member as serf 0.9.4 sends it (seen on the wire from Debian's serf). */
function wireMember(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Addr: new Uint8Array([127, 0, 0, 1]),
    DelegateCur: 5,
    DelegateMax: 5,
    DelegateMin: 2,
    Name: 'rack0-cs1',
    Port: 7946,
    ProtocolCur: 2,
    ProtocolMax: 5,
    ProtocolMin: 1,
    Status: 'alive',
    Tags: { role: 'cs', serial: 'S1' },
    ...overrides,
  };
}

describe('addressFromBytes', () => {
  it('reads 4 bytes as dotted IPv4', () => {
    assert.equal(addressFromBytes(new Uint8Array([10, 69, 0, 3])), '10.69.0.3');
    assert.equal(addressFromBytes([192, 168, 255, 0]), '192.168.255.0');
  });

  it('reads an IPv4-mapped 16-byte address (as Go often stores IPv4) as dotted IPv4', () => {
    assert.equal(addressFromBytes(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 69, 1, 2])), '10.69.1.2');
  });

  it('reads other 16-byte addresses as compressed IPv6', () => {
    const v6 = (text: string) => {
      const groups = text.split(':').map((g) => parseInt(g, 16));
      return new Uint8Array(groups.flatMap((g) => [g >> 8, g & 0xff]));
    };
    assert.equal(addressFromBytes(v6('fd00:0:0:0:0:0:0:1')), 'fd00::1');
    assert.equal(addressFromBytes(v6('0:0:0:0:0:0:0:1')), '::1');
    assert.equal(addressFromBytes(v6('0:0:0:0:0:0:0:0')), '::');
    assert.equal(addressFromBytes(v6('2001:db8:0:1:0:0:0:1')), '2001:db8:0:1::1');
    assert.equal(addressFromBytes(v6('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1', 'the first of two equal runs');
    assert.equal(addressFromBytes(v6('2001:db8:1:1:1:1:0:1')), '2001:db8:1:1:1:1:0:1', 'a single zero group stays');
  });

  it('refuses what is not the bytes of an address, naming the field', () => {
    assert.throws(() => addressFromBytes(new Uint8Array([1, 2, 3]), 'member a: Addr'), {
      name: 'SerfProtocolError',
      message: 'member a: Addr has 3 bytes; an IP address has 4 or 16',
    });
    assert.throws(() => addressFromBytes('127.0.0.1'), /address is "127.0.0.1", not the bytes of an IP address/);
    assert.throws(() => addressFromBytes([1, 2, 3, 300]), SerfProtocolError);
  });
});

describe('memberFromWire', () => {
  it('keeps name, address, port, tags and status', () => {
    assert.deepEqual(memberFromWire(wireMember()), {
      name: 'rack0-cs1',
      addr: '127.0.0.1',
      port: 7946,
      tags: { role: 'cs', serial: 'S1' },
      status: 'alive',
    });
  });

  it('reads a member after a msgpack round trip (bin for Addr, str for the rest)', () => {
    const [member] = membersFromWire(decode(encode({ Members: [wireMember({ Status: 'failed' })] })));
    assert.equal(member!.addr, '127.0.0.1');
    assert.equal(member!.status, 'failed');
  });

  it('reads every serf status', () => {
    for (const status of ['alive', 'leaving', 'left', 'failed', 'none']) {
      assert.equal(memberFromWire(wireMember({ Status: status })).status, status);
    }
  });

  it('reads nil tags as no tags', () => {
    assert.deepEqual(memberFromWire(wireMember({ Tags: null })).tags, {});
  });

  it('refuses a member with an unknown status, a bad port or a non-string tag, naming the member and field', () => {
    assert.throws(() => memberFromWire(wireMember({ Status: 'dead' })), {
      message: 'serf member rack0-cs1: Status is "dead", not one of alive, leaving, left, failed, none',
    });
    assert.throws(() => memberFromWire(wireMember({ Port: 70000 })), /serf member rack0-cs1: Port is 70000/);
    assert.throws(() => memberFromWire(wireMember({ Tags: { role: 1 } })), /serf member rack0-cs1: tag role is 1, not a string/);
    assert.throws(() => memberFromWire(wireMember({ Name: '' }), 3), /serf member 3: Name is ""/);
    assert.throws(() => memberFromWire('x'), /serf member 0 is "x", not a map/);
  });
});

describe('membersFromWire', () => {
  it('reads an empty or nil list as no members', () => {
    assert.deepEqual(membersFromWire({ Members: [] }), []);
    assert.deepEqual(membersFromWire({ Members: null }), []);
  });

  it('refuses a body that is not { Members: [...] }', () => {
    assert.throws(() => membersFromWire({ Members: 'a' }), /Members is "a", not a list/);
    assert.throws(() => membersFromWire(null), /members response is nil, not a map/);
  });
});

describe('response headers and bodies', () => {
  it('reads a header, an absent Error meaning none', () => {
    assert.deepEqual(headerFromWire({ Seq: 3, Error: '' }), { seq: 3, error: '' });
    assert.deepEqual(headerFromWire({ Seq: 0 }), { seq: 0, error: '' });
    assert.throws(() => headerFromWire({ Seq: -1, Error: '' }), /Seq is -1, not a sequence number/);
    assert.throws(() => headerFromWire({ Seq: 1, Error: 5 }), /Error is 5, not a string/);
  });

  it('expects a body after members, members-filtered, join and stats, even after an error', () => {
    for (const command of ['members', 'members-filtered', 'join', 'stats']) {
      assert.equal(responseHasBody(command, { seq: 1, error: '' }), true, command);
    }
    assert.equal(responseHasBody('join', { seq: 1, error: '1 error occurred: …' }), true);
  });

  it('expects no body after handshake, auth and tags, nor after the errors serf sends before reading a request', () => {
    for (const command of ['handshake', 'auth', 'tags']) assert.equal(responseHasBody(command, { seq: 1, error: '' }), false);
    for (const error of ['Authentication required', 'Handshake required', 'Unsupported command']) {
      assert.equal(responseHasBody('members', { seq: 1, error }), false, error);
    }
  });

  it("puts serf's multi-line join error on one line", () => {
    assert.equal(
      serfErrorText('1 error occurred:\n\t* Failed to join 127.0.0.1: dial tcp 127.0.0.1:1: connect: connection refused\n\n'),
      '1 error occurred: Failed to join 127.0.0.1: dial tcp 127.0.0.1:1: connect: connection refused',
    );
    assert.equal(serfErrorText('Invalid authentication token'), 'Invalid authentication token');
  });
});
