import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DhcpMessageType,
  DhcpOption,
  getIPv4,
  getIPv4List,
  getString,
  getSubOptions,
  getUint32,
  setIPv4,
  setString,
  setUint16List,
} from '../../src/boot/dhcp/options.js';
import { BootOp, type DhcpPacket } from '../../src/boot/dhcp/packet.js';
import {
  bootFile,
  classify,
  bootBaseUrl,
  destination,
  IPXE_NO_PXEDHCP,
  outsideSegment,
  type RequestView,
  segmentFor,
  segmentOf,
} from '../../src/boot/dhcp/policy.js';
import { addressReply, type AddressReply, nakReply, requestView } from '../../src/boot/dhcp/reply.js';
import { formatIPv4, parseIPv4 } from '../../src/lib/ipv4.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

const ip = (text: string) => parseIPv4(text)!;
const SERVER = ip('10.69.0.3');
const request = (extra: Partial<RequestView>): RequestView => ({
  type: DhcpMessageType.DISCOVER,
  mac: '52:54:00:00:00:01',
  ciaddr: 0,
  giaddr: 0,
  broadcast: false,
  ipxeOptions: false,
  ...extra,
});
/** The packet a client sends for `request(extra)`: the same fields, its options encoded. */
const packet = (extra: Partial<RequestView>): DhcpPacket => {
  const view = request(extra);
  const options = new Map<number, Buffer>();
  if (view.requestedIp !== undefined) setIPv4(options, DhcpOption.REQUESTED_IP, view.requestedIp);
  if (view.serverId !== undefined) setIPv4(options, DhcpOption.SERVER_IDENTIFIER, view.serverId);
  if (view.vendorClass !== undefined) setString(options, DhcpOption.VENDOR_CLASS_IDENTIFIER, view.vendorClass);
  if (view.userClass !== undefined) setString(options, DhcpOption.USER_CLASS, view.userClass);
  if (view.architectures !== undefined) setUint16List(options, DhcpOption.CLIENT_SYSTEM_ARCHITECTURE, view.architectures);
  if (view.ipxeOptions) options.set(DhcpOption.IPXE_ENCAPSULATED, Buffer.alloc(0));
  if (view.hostname !== undefined) setString(options, DhcpOption.HOSTNAME, view.hostname);
  return {
    op: BootOp.REQUEST,
    htype: 1,
    hlen: 6,
    hops: 1,
    xid: 0x12345678,
    secs: 4,
    broadcast: view.broadcast,
    ciaddr: view.ciaddr,
    yiaddr: 0,
    siaddr: 0,
    giaddr: view.giaddr,
    chaddr: view.mac,
    sname: '',
    file: '',
    messageType: view.type as DhcpMessageType,
    options,
  };
};
const urls = {
  ipxeEfi: 'http://10.69.0.3:10080/api/v1/boot/ipxe.efi',
  ipxeScript: 'http://10.69.0.3:10080/api/v1/boot/coreos/ipxe',
};

describe('DHCP policy', () => {
  it('drops a client that gives no hardware address (hlen 0): a lease is held by one; INFORM needs none', () => {
    for (const type of [DhcpMessageType.DISCOVER, DhcpMessageType.REQUEST, DhcpMessageType.RELEASE, DhcpMessageType.DECLINE])
      assert.deepEqual(
        classify(request({ type, mac: '', serverId: SERVER, requestedIp: ip('10.69.0.40'), ciaddr: ip('10.69.0.40') }), SERVER),
        { kind: 'drop', reason: 'no-hardware-address' },
        `message type ${type}`,
      );
    assert.deepEqual(classify(request({ type: DhcpMessageType.INFORM, mac: '', ciaddr: ip('10.69.0.40') }), SERVER), {
      kind: 'inform',
      address: ip('10.69.0.40'),
    });
  });

  it('classifies requests by the client state of RFC 2131', () => {
    assert.deepEqual(classify(request({}), SERVER), { kind: 'discover', requested: undefined });
    const selecting = request({ type: DhcpMessageType.REQUEST, serverId: SERVER, requestedIp: ip('10.69.0.40') });
    assert.deepEqual(classify(selecting, SERVER), { kind: 'select', address: ip('10.69.0.40') });
    assert.deepEqual(classify({ ...selecting, serverId: ip('10.69.0.4') }, SERVER), { kind: 'not-for-us' });
    assert.deepEqual(classify(request({ type: DhcpMessageType.REQUEST, requestedIp: ip('10.69.0.40') }), SERVER), {
      kind: 'confirm',
      address: ip('10.69.0.40'),
    });
    assert.deepEqual(classify(request({ type: DhcpMessageType.REQUEST, ciaddr: ip('10.69.0.40') }), SERVER), {
      kind: 'renew',
      address: ip('10.69.0.40'),
    });
    assert.deepEqual(classify(request({ type: DhcpMessageType.RELEASE, ciaddr: ip('10.69.0.40') }), SERVER), {
      kind: 'release',
      address: ip('10.69.0.40'),
    });
    assert.deepEqual(classify(request({ type: DhcpMessageType.DECLINE, requestedIp: ip('10.69.0.40') }), SERVER), {
      kind: 'decline',
      address: ip('10.69.0.40'),
    });
    assert.deepEqual(classify(request({ type: DhcpMessageType.INFORM }), SERVER), {
      kind: 'drop',
      reason: 'inform-without-address',
    });
    assert.deepEqual(classify(request({ type: DhcpMessageType.OFFER }), SERVER), {
      kind: 'drop',
      reason: 'not-a-client-message',
    });
  });

  it('finds the rack segment from the relay, else from the local interface, and refuses bogus relays', () => {
    const relayed = segmentFor(EXAMPLE_IPAM, request({ giaddr: ip('10.69.0.193') }), SERVER);
    assert.ok('range' in relayed);
    assert.deepEqual(
      [formatIPv4(relayed.range.first), formatIPv4(relayed.range.last), formatIPv4(relayed.gateway), relayed.maskBits],
      ['10.69.0.224', '10.69.0.254', '10.69.0.193', 26],
    );
    const direct = segmentFor(EXAMPLE_IPAM, request({}), SERVER);
    assert.ok('range' in direct);
    assert.deepEqual([formatIPv4(direct.range.first), formatIPv4(direct.range.last)], ['10.69.0.32', '10.69.0.62']);
    assert.deepEqual(segmentFor(EXAMPLE_IPAM, request({ giaddr: ip('192.0.2.1') }), SERVER), { drop: 'bogus-relay' });
    assert.deepEqual(segmentFor(EXAMPLE_IPAM, request({}), undefined), { drop: 'no-local-segment' });
  });

  it('hands UEFI HTTP Boot clients the iPXE EFI binary with option 60 echoed, iPXE clients the chain script, others nothing', () => {
    const httpBoot = request({ vendorClass: 'HTTPClient:Arch:00016:UNDI:003001', architectures: [0x10] });
    assert.deepEqual(bootFile(httpBoot, urls), { file: urls.ipxeEfi, vendorClass: 'HTTPClient' });
    const ipxe = { file: urls.ipxeScript, ipxeSettings: new Map([[IPXE_NO_PXEDHCP, Uint8Array.of(1)]]) };
    assert.deepEqual(bootFile(request({ userClass: 'iPXE', architectures: [0x10] }), urls), ipxe);
    assert.deepEqual(bootFile(request({ ipxeOptions: true }), urls), ipxe);
    assert.equal(bootFile(request({ vendorClass: 'PXEClient:Arch:00000:UNDI:002001', architectures: [0] }), urls), undefined);
    assert.equal(
      bootFile(request({ vendorClass: 'HTTPClient:Arch:00007', architectures: [0x07] }), urls),
      undefined,
      'UEFI PXE (not HTTP) gets no URL',
    );
  });

  it('replies to the relay on port 67, to a renewing client directly, and broadcasts otherwise', () => {
    assert.deepEqual(destination(request({ giaddr: ip('10.69.0.193') }), DhcpMessageType.OFFER, formatIPv4), {
      address: '10.69.0.193',
      port: 67,
    });
    assert.deepEqual(destination(request({ ciaddr: ip('10.69.0.40') }), DhcpMessageType.ACK, formatIPv4), {
      address: '10.69.0.40',
      port: 68,
    });
    assert.deepEqual(destination(request({ ciaddr: ip('10.69.0.40') }), DhcpMessageType.NAK, formatIPv4), {
      address: '255.255.255.255',
      port: 68,
    });
    assert.deepEqual(destination(request({}), DhcpMessageType.OFFER, formatIPv4), { address: '255.255.255.255', port: 68 });
  });
});

describe('DHCP replies', () => {
  const NOW = Date.parse('2026-01-01T00:00:00Z');
  const context = { serverId: SERVER, gateway: ip('10.69.0.1'), maskBits: 26 };
  const dhcp = { 'lease-minutes': 60, 'dns-servers': ['10.69.0.53', '10.69.0.54'] };
  const lease = { address: ip('10.69.0.40'), expires: NOW + 59 * 60_000 };
  const reply = (extra: Partial<RequestView>, change: Partial<AddressReply> = {}): DhcpPacket => {
    const p = packet(extra);
    return addressReply({
      packet: p,
      request: requestView(p),
      type: DhcpMessageType.OFFER,
      lease,
      context,
      dhcp,
      urls,
      now: NOW,
      ...change,
    });
  };

  it('reads the request fields the policy decides on back from the packet', () => {
    const fields: Partial<RequestView> = {
      type: DhcpMessageType.REQUEST,
      ciaddr: ip('10.69.0.40'),
      giaddr: ip('10.69.0.193'),
      broadcast: true,
      requestedIp: ip('10.69.0.41'),
      serverId: SERVER,
      vendorClass: 'HTTPClient:Arch:00016',
      userClass: 'iPXE',
      architectures: [0x10],
      ipxeOptions: true,
      hostname: 'rack0-cs1',
    };
    assert.deepEqual(requestView(packet(fields)), request(fields));
  });

  it('offers the leased address with the full lease, T1 at half and T2 at 7/8, the mask, router and DNS servers', () => {
    const offer = reply({ userClass: 'iPXE' });
    assert.equal(offer.op, BootOp.REPLY);
    assert.equal(offer.messageType, DhcpMessageType.OFFER);
    assert.deepEqual([offer.xid, offer.chaddr, offer.hops, offer.secs], [0x12345678, '52:54:00:00:00:01', 0, 0]);
    assert.deepEqual([offer.yiaddr, offer.siaddr, offer.ciaddr].map(formatIPv4), ['10.69.0.40', '10.69.0.3', '0.0.0.0']);
    const o = offer.options;
    assert.equal(formatIPv4(getIPv4(o, DhcpOption.SERVER_IDENTIFIER)!), '10.69.0.3');
    assert.equal(formatIPv4(getIPv4(o, DhcpOption.SUBNET_MASK)!), '255.255.255.192');
    assert.deepEqual(getIPv4List(o, DhcpOption.ROUTER)?.map(formatIPv4), ['10.69.0.1']);
    assert.deepEqual(getIPv4List(o, DhcpOption.DNS_SERVERS)?.map(formatIPv4), ['10.69.0.53', '10.69.0.54']);
    assert.deepEqual(
      [DhcpOption.LEASE_TIME, DhcpOption.RENEWAL_TIME, DhcpOption.REBINDING_TIME].map((c) => getUint32(o, c)),
      [3600, 1800, 3150],
    );
    assert.equal(offer.file, urls.ipxeScript, 'an iPXE client gets the chain script');
    assert.deepEqual(
      getSubOptions(o, DhcpOption.IPXE_ENCAPSULATED),
      new Map([[176, Buffer.from([1])]]),
      'and iPXE’s no-pxedhcp setting (175.176 = 1), so it does not wait for ProxyDHCP offers',
    );
  });

  it('acknowledges with what is left of the bound lease and the client’s own ciaddr', () => {
    const ack = reply({ type: DhcpMessageType.REQUEST, ciaddr: ip('10.69.0.40') }, { type: DhcpMessageType.ACK });
    assert.equal(ack.messageType, DhcpMessageType.ACK);
    assert.equal(formatIPv4(ack.ciaddr), '10.69.0.40');
    assert.equal(getUint32(ack.options, DhcpOption.LEASE_TIME), 59 * 60);
    const expiring = reply({}, { type: DhcpMessageType.ACK, lease: { ...lease, expires: NOW + 10 } });
    assert.equal(getUint32(expiring.options, DhcpOption.LEASE_TIME), 1, 'never a lease of 0 seconds');
  });

  it('answers an INFORM without an address or lease times, and leaves out DNS when none is configured', () => {
    const ack = reply(
      { type: DhcpMessageType.INFORM, ciaddr: ip('10.69.0.40') },
      { type: DhcpMessageType.ACK, lease: undefined, dhcp: { 'lease-minutes': 60, 'dns-servers': [] } },
    );
    assert.equal(ack.yiaddr, 0);
    for (const code of [DhcpOption.LEASE_TIME, DhcpOption.RENEWAL_TIME, DhcpOption.REBINDING_TIME, DhcpOption.DNS_SERVERS])
      assert.equal(ack.options.has(code), false, `option ${code}`);
  });

  it('gives UEFI HTTP Boot clients the iPXE binary with option 60 echoed, and other clients no boot file', () => {
    const http = reply({ vendorClass: 'HTTPClient:Arch:00016:UNDI:003001', architectures: [0x10] });
    assert.equal(http.file, urls.ipxeEfi);
    assert.equal(getString(http.options, DhcpOption.VENDOR_CLASS_IDENTIFIER), 'HTTPClient');
    const pxe = reply({ vendorClass: 'PXEClient:Arch:00000:UNDI:002001', architectures: [0] });
    assert.equal(pxe.file, '');
    assert.equal(pxe.options.has(DhcpOption.VENDOR_CLASS_IDENTIFIER), false);
    assert.equal(pxe.options.has(DhcpOption.BOOTFILE_NAME), false);
    for (const client of [http, pxe])
      assert.equal(client.options.has(DhcpOption.IPXE_ENCAPSULATED), false, 'iPXE settings go to iPXE clients only');
  });

  it('points boot URLs at the advertised URL, else at the one address the API listens on, else at the server identifier', () => {
    const serverId = ip('10.69.0.67');
    assert.equal(
      bootBaseUrl({ advertiseUrl: 'http://boot.example:8080', listenHost: '10.69.0.3', port: 10080, serverId }),
      'http://boot.example:8080',
    );
    assert.equal(
      bootBaseUrl({ listenHost: '10.69.0.3', port: 10080, serverId }),
      'http://10.69.0.3:10080',
      'an API bound to node0 only is not reachable at the segment address DHCP answers from',
    );
    for (const listenHost of ['0.0.0.0', '::', '', 'localhost'])
      assert.equal(bootBaseUrl({ listenHost, port: 10080, serverId }), 'http://10.69.0.67:10080', `listening on ${listenHost}`);
  });

  it('puts a boot URL too long for the 128-byte file field into option 67 instead', () => {
    const long = { ...urls, ipxeScript: `http://boot.example/${'x'.repeat(108)}` };
    assert.equal(long.ipxeScript.length, 128);
    const offer = reply({ ipxeOptions: true }, { urls: long });
    assert.equal(offer.file, '');
    assert.equal(getString(offer.options, DhcpOption.BOOTFILE_NAME), long.ipxeScript);
    const fits = { ...urls, ipxeScript: long.ipxeScript.slice(0, 127) };
    assert.equal(reply({ ipxeOptions: true }, { urls: fits }).file, fits.ipxeScript);
  });

  it('NAKs with the reason and our identifier only, broadcast by a relay', () => {
    const direct = nakReply(packet({ type: DhcpMessageType.REQUEST, ciaddr: ip('10.69.0.40') }), SERVER, 'no');
    assert.equal(direct.messageType, DhcpMessageType.NAK);
    assert.deepEqual([direct.yiaddr, direct.siaddr, direct.ciaddr, direct.file], [0, 0, 0, '']);
    assert.deepEqual([...direct.options.keys()].sort(), [DhcpOption.SERVER_IDENTIFIER, DhcpOption.MESSAGE].sort());
    assert.equal(getString(direct.options, DhcpOption.MESSAGE), 'no');
    assert.equal(direct.broadcast, false, 'a direct client keeps its own broadcast flag');
    const relayed = nakReply(packet({ type: DhcpMessageType.REQUEST, giaddr: ip('10.69.0.193') }), SERVER, 'no');
    assert.equal(relayed.broadcast, true);
    assert.equal(formatIPv4(relayed.giaddr), '10.69.0.193');
  });

  it('anchors a direct renewal’s segment at the client’s address, and NAKs addresses outside the lease range', () => {
    const renew = request({ type: DhcpMessageType.REQUEST, ciaddr: ip('10.69.0.230') });
    const segment = segmentOf(EXAMPLE_IPAM, renew, classify(renew, SERVER), SERVER);
    assert.ok('range' in segment);
    assert.deepEqual([formatIPv4(segment.range.first), formatIPv4(segment.gateway)], ['10.69.0.224', '10.69.0.193']);
    const discover = request({});
    const local = segmentOf(EXAMPLE_IPAM, discover, classify(discover, SERVER), SERVER);
    assert.ok('range' in local);
    assert.equal(formatIPv4(local.range.first), '10.69.0.32', 'anything else: the interface’s segment');
    assert.equal(outsideSegment(ip('10.69.0.240'), segment), undefined);
    assert.equal(outsideSegment(ip('10.69.0.40'), segment), '10.69.0.40 is not in this segment');
  });
});
