/**
 * The IPMI-over-LAN codecs of the virtual BMC: RMCP and the ASF presence
 * pong, the v1.5 and RMCP+ session wrappers, IPMI messages, the session
 * establishment payloads and the cipher suite choice — round trips, wire
 * bytes checked against the spec's tables, and refusals of bad input.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { chooseCipherSuite, cipherSuiteRecords } from '../../src/vdc/bmc/ipmi/cipher-suites.js';
import {
  encodeOpenSessionRequest,
  encodeOpenSessionResponse,
  encodeRakp1,
  encodeRakp2,
  encodeRakp3,
  encodeRakp4,
  parseOpenSessionRequest,
  parseOpenSessionResponse,
  parseRakp1,
  parseRakp2,
  parseRakp3,
  parseRakp4,
} from '../../src/vdc/bmc/ipmi/handshake-payloads.js';
import {
  checksum,
  encodeRequest,
  encodeResponse,
  parseRequest,
  parseResponse,
  responseTo,
} from '../../src/vdc/bmc/ipmi/message.js';
import { IpmiParseError, type IpmiParseReason } from '../../src/vdc/bmc/ipmi/parse-error.js';
import { encodeAsfPing, encodeAsfPong, encodeRmcp, parseAsfPing, parseRmcp, RmcpClass } from '../../src/vdc/bmc/ipmi/rmcp.js';
import { encodeV15, parseV15 } from '../../src/vdc/bmc/ipmi/session-v15.js';
import { encodeV20, parseV20, readSessionTrailer } from '../../src/vdc/bmc/ipmi/session-v20.js';

function refuses(reason: IpmiParseReason, parse: () => unknown): void {
  assert.throws(parse, (error: unknown) => error instanceof IpmiParseError && error.reason === reason);
}

describe('RMCP and ASF presence ping', () => {
  it('reads a ping as ipmitool sends it and answers with a pong that says "IPMI supported"', () => {
    // ipmitool's ipmiv2_lan_ping: RMCP 06 00 FF 06, ASF IANA 4542, type 80h, tag, reserved, length 0.
    const ping = Buffer.from('0600ff06' + '000011be' + '80' + '07' + '00' + '00', 'hex');
    const rmcp = parseRmcp(ping);
    assert.equal(rmcp.class, RmcpClass.ASF);
    assert.deepEqual(parseAsfPing(rmcp.body), { tag: 7 });
    const pong = encodeRmcp(RmcpClass.ASF, encodeAsfPong(7), rmcp.sequence);
    assert.equal(
      pong.toString('hex'),
      ['0600ff06', '000011be', '40', '07', '00', '10', '000011be', '00000000', '81', '00', '000000000000'].join(''),
    );
    assert.deepEqual(parseAsfPing(encodeAsfPing(200)), { tag: 200 });
  });

  it('refuses other RMCP versions, RMCP ACKs, unknown classes and ASF messages other than a ping', () => {
    refuses('truncated', () => parseRmcp(Buffer.from('0600ff', 'hex')));
    refuses('bad-rmcp-version', () => parseRmcp(Buffer.from('0700ff07', 'hex')));
    refuses('unsupported-rmcp-class', () => parseRmcp(Buffer.from('0600ff87', 'hex')));
    refuses('unsupported-rmcp-class', () => parseRmcp(Buffer.from('0600ff08', 'hex')));
    refuses('unsupported-asf-message', () => parseAsfPing(encodeAsfPong(1)));
    refuses('truncated', () => parseAsfPing(Buffer.from('000011be8001', 'hex')));
  });
});

describe('IPMI v1.5 session wrapper', () => {
  it('round-trips packets with and without an auth code', () => {
    const message = encodeRequest({ netFn: 0x06, cmd: 0x38, data: Buffer.of(0x8e, 0x04) });
    const plain = encodeV15({ message });
    assert.equal(plain.toString('hex').slice(0, 20), '00' + '00000000' + '00000000' + '09');
    assert.deepEqual(parseV15(plain), { authType: 0, sequence: 0, sessionId: 0, authCode: undefined, message });
    const authCode = Buffer.alloc(16, 0xab);
    const md5 = encodeV15({ authType: 0x02, sequence: 7, sessionId: 0x01020304, authCode, message });
    assert.deepEqual(parseV15(md5), { authType: 2, sequence: 7, sessionId: 0x01020304, authCode, message });
  });

  it('takes the legacy pad byte but no more, and refuses a length byte past the end', () => {
    const packet = encodeV15({ message: encodeRequest({ netFn: 0x06, cmd: 0x01 }) });
    assert.equal(parseV15(Buffer.concat([packet, Buffer.of(0)])).message.length, 7);
    refuses('trailing-bytes', () => parseV15(Buffer.concat([packet, Buffer.of(0, 0)])));
    refuses('truncated', () => parseV15(packet.subarray(0, packet.length - 1)));
    refuses('truncated', () => parseV15(Buffer.from('02000000000000000000', 'hex')));
  });
});

describe('RMCP+ session header and trailer', () => {
  const sign = (data: Buffer) => createHmac('sha1', 'k1').update(data).digest();

  it('round-trips a session-less packet', () => {
    const payload = Buffer.from('hello');
    const body = encodeV20({ payloadType: 0x10, encrypted: false, sessionId: 0, sequence: 0, payload });
    assert.equal(body.toString('hex'), '061000000000000000000500' + payload.toString('hex'));
    const packet = parseV20(body);
    assert.deepEqual(
      { ...packet, payload: packet.payload.toString(), trailer: packet.trailer.length },
      {
        payloadType: 0x10,
        encrypted: false,
        authenticated: false,
        oem: undefined,
        sessionId: 0,
        sequence: 0,
        payload: 'hello',
        trailer: 0,
      },
    );
  });

  it('pads the signed part to a multiple of 4 bytes and signs from the auth type to the next header', () => {
    for (let length = 16; length < 24; length++) {
      const payload = Buffer.alloc(length, 0x55);
      const body = encodeV20(
        { payloadType: 0, encrypted: true, sessionId: 0xdeadbeef, sequence: 9, payload },
        { authCodeLength: 12, sign },
      );
      const packet = parseV20(body);
      assert.equal(packet.encrypted && packet.authenticated, true);
      assert.equal(packet.sessionId, 0xdeadbeef);
      assert.deepEqual(packet.payload, payload);
      const { signed, authCode } = readSessionTrailer(body, packet, 12);
      assert.equal(signed.length % 4, 0);
      assert.equal(signed[signed.length - 1], 0x07);
      assert.deepEqual(authCode, sign(signed).subarray(0, 12));
    }
  });

  it('refuses trailers with a wrong pad, pad length or next header, and bytes after an unsigned payload', () => {
    const body = encodeV20(
      { payloadType: 0, encrypted: true, sessionId: 1, sequence: 1, payload: Buffer.alloc(17) },
      { authCodeLength: 12, sign },
    );
    const packet = parseV20(body);
    const signedEnd = body.length - 12;
    for (const [at, value] of [
      [signedEnd - 1, 0x06],
      [signedEnd - 2, 0x02],
      [signedEnd - 3, 0x00],
    ] as const) {
      const bad = Buffer.from(body);
      bad[at] = value;
      refuses('bad-session-trailer', () => readSessionTrailer(bad, parseV20(bad), 12));
    }
    refuses('truncated', () => readSessionTrailer(body, packet, 40));
    const unsigned = encodeV20({ payloadType: 0, encrypted: false, sessionId: 0, sequence: 0, payload: Buffer.alloc(3) });
    refuses('trailing-bytes', () => parseV20(Buffer.concat([unsigned, Buffer.of(1)])));
    refuses('truncated', () => parseV20(unsigned.subarray(0, unsigned.length - 1)));
  });

  it('skips the IANA and payload ID of OEM explicit payloads', () => {
    const body = Buffer.from('0602' + 'a2020000' + '3412' + '01000000' + '02000000' + '0100' + 'ff', 'hex');
    const packet = parseV20(body);
    assert.deepEqual(packet.oem, { iana: 0x2a2, payloadId: 0x1234 });
    assert.equal(packet.sessionId, 1);
    assert.deepEqual(packet.payload, Buffer.of(0xff));
  });
});

describe('IPMI messages', () => {
  it('round-trips a request and its response with both checksums', () => {
    const request = parseRequest(encodeRequest({ netFn: 0x00, cmd: 0x02, data: Buffer.of(0x01), rqSeq: 17 }));
    assert.deepEqual(request, {
      netFn: 0,
      cmd: 2,
      data: Buffer.of(1),
      rqSeq: 17,
      rqAddr: 0x81,
      rqLun: 0,
      rsAddr: 0x20,
      rsLun: 0,
    });
    const bytes = encodeResponse(responseTo(request, 0x00, Buffer.of(0xaa, 0xbb)));
    assert.equal(checksum(bytes.subarray(0, 3)), 0);
    assert.equal(checksum(bytes.subarray(3)), 0);
    assert.deepEqual(parseResponse(bytes), {
      netFn: 1,
      cmd: 2,
      completion: 0,
      data: Buffer.of(0xaa, 0xbb),
      rqSeq: 17,
      rqAddr: 0x81,
      rqLun: 0,
      rsAddr: 0x20,
      rsLun: 0,
    });
  });

  it("matches ipmitool's bytes for Get Channel Authentication Capabilities", () => {
    // rsAddr 20, netFn 06 << 2 = 18, checksum c8, rqAddr 81, rqSeq 0, cmd 38, data 8e 04, checksum b5.
    assert.equal(encodeRequest({ netFn: 0x06, cmd: 0x38, data: Buffer.of(0x8e, 0x04) }).toString('hex'), '2018c88100388e04b5');
  });

  it('refuses bad checksums, responses posing as requests, and short messages', () => {
    const good = encodeRequest({ netFn: 0x06, cmd: 0x01 });
    for (const at of [2, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at]! ^= 1;
      refuses('bad-checksum', () => parseRequest(bad));
    }
    refuses('bad-field', () => parseRequest(encodeRequest({ netFn: 0x07, cmd: 0x01 })));
    refuses('truncated', () => parseRequest(good.subarray(0, 6)));
  });
});

describe('RMCP+ session establishment payloads', () => {
  it('round-trips Open Session Request and Response', () => {
    const request = {
      tag: 9,
      maxPrivilege: 4,
      consoleSessionId: 0xa0a2a3a4,
      authentication: 3,
      integrity: 4,
      confidentiality: 1,
    };
    const bytes = encodeOpenSessionRequest(request);
    assert.equal(bytes.toString('hex'), '09040000a4a3a2a0' + '0000000803000000' + '0100000804000000' + '0200000801000000');
    assert.deepEqual(parseOpenSessionRequest(bytes), request);
    const accepted = { maxPrivilege: 4, bmcSessionId: 0x11223344, authentication: 3, integrity: 4, confidentiality: 1 };
    const response = { tag: 9, status: 0, consoleSessionId: 0xa0a2a3a4, accepted };
    assert.equal(encodeOpenSessionResponse(response).length, 36);
    assert.deepEqual(parseOpenSessionResponse(encodeOpenSessionResponse(response)), response);
    const refusal = { tag: 9, status: 0x11, consoleSessionId: 0xa0a2a3a4 };
    assert.equal(encodeOpenSessionResponse(refusal).toString('hex'), '09110000a4a3a2a0');
    assert.deepEqual(parseOpenSessionResponse(encodeOpenSessionResponse(refusal)), refusal);
  });

  it('refuses an Open Session Request whose algorithm payloads are out of place', () => {
    const bytes = encodeOpenSessionRequest({
      tag: 0,
      maxPrivilege: 0,
      consoleSessionId: 1,
      authentication: 1,
      integrity: 1,
      confidentiality: 1,
    });
    const swapped = Buffer.from(bytes);
    swapped[16] = 0x02;
    refuses('bad-field', () => parseOpenSessionRequest(swapped));
    const nullPayload = Buffer.from(bytes);
    nullPayload[11] = 0;
    refuses('bad-field', () => parseOpenSessionRequest(nullPayload));
    refuses('truncated', () => parseOpenSessionRequest(bytes.subarray(0, 31)));
  });

  it('round-trips RAKP messages 1 to 4', () => {
    const rakp1 = { tag: 1, bmcSessionId: 5, consoleRandom: Buffer.alloc(16, 1), role: 0x14, username: Buffer.from('admin') };
    assert.equal(encodeRakp1(rakp1).length, 33);
    assert.deepEqual(parseRakp1(encodeRakp1(rakp1)), rakp1);
    const rakp2 = {
      tag: 2,
      status: 0,
      consoleSessionId: 6,
      bmcRandom: Buffer.alloc(16, 2),
      bmcGuid: Buffer.alloc(16, 3),
      authCode: Buffer.alloc(32, 4),
    };
    assert.deepEqual(parseRakp2(encodeRakp2(rakp2), 32), rakp2);
    assert.deepEqual(parseRakp2(encodeRakp2({ tag: 2, status: 0x0d, consoleSessionId: 6 }), 32), {
      tag: 2,
      status: 0x0d,
      consoleSessionId: 6,
    });
    const rakp3 = { tag: 3, status: 0, bmcSessionId: 7, authCode: Buffer.alloc(20, 5) };
    assert.deepEqual(parseRakp3(encodeRakp3(rakp3)), rakp3);
    const rakp4 = { tag: 4, status: 0, consoleSessionId: 8, integrityCheck: Buffer.alloc(12, 6) };
    assert.deepEqual(parseRakp4(encodeRakp4(rakp4)), rakp4);
    refuses('truncated', () => parseRakp1(encodeRakp1(rakp1).subarray(0, 32)));
  });
});

describe('cipher suite choice', () => {
  const proposal = (authentication: number, integrity: number, confidentiality: number) =>
    chooseCipherSuite({ authentication, integrity, confidentiality });

  it('accepts exactly suites 3 and 17', () => {
    assert.equal((proposal(1, 1, 1) as { id: number }).id, 3);
    assert.equal((proposal(3, 4, 1) as { id: number }).id, 17);
  });

  it('refuses other suites with the RMCP+ status that names the unacceptable part', () => {
    assert.deepEqual(proposal(0, 0, 0), { refused: 0x04 }); // suite 0: no authentication
    assert.deepEqual(proposal(1, 0, 0), { refused: 0x05 }); // suite 1: no integrity
    assert.deepEqual(proposal(1, 1, 0), { refused: 0x10 }); // suite 2: no encryption
    assert.deepEqual(proposal(2, 2, 1), { refused: 0x04 }); // suite 7: HMAC-MD5
    assert.deepEqual(proposal(1, 1, 2), { refused: 0x10 }); // suite 4: xRC4-128
    assert.deepEqual(proposal(1, 4, 1), { refused: 0x11 }); // SHA-1 with SHA-256 integrity: no such suite
    assert.deepEqual(proposal(3, 1, 1), { refused: 0x11 });
  });

  it('lists the offered suites in the Get Channel Cipher Suites record format', () => {
    assert.equal(cipherSuiteRecords().toString('hex'), 'c011034481' + 'c003014181');
  });
});
