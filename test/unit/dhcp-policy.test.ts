import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DhcpMessageType } from '../../src/boot/dhcp/options.js';
import { bootFile, classify, destination, type RequestView, segmentFor } from '../../src/boot/dhcp/policy.js';
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
const urls = {
  ipxeEfi: 'http://10.69.0.3:10080/api/v1/boot/ipxe.efi',
  ipxeScript: 'http://10.69.0.3:10080/api/v1/boot/coreos/ipxe',
};

describe('DHCP policy', () => {
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
    assert.deepEqual(bootFile(request({ userClass: 'iPXE', architectures: [0x10] }), urls), { file: urls.ipxeScript });
    assert.deepEqual(bootFile(request({ ipxeOptions: true }), urls), { file: urls.ipxeScript });
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
