/** The node checks: what a server reports in its serf tags, decided from what the agent observed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bgpProtocols } from '../../src/node/bird-protocols.js';
import { failedChecks, nodeTags } from '../../src/node/checks.js';

const PROTOCOLS = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     10:00:00.000
rack0_tor1 BGP        ---        up     10:00:01.000  Established
rack0_tor2 BGP        ---        start  10:00:01.000  Active        Socket: Connection refused
`;

describe('node checks', () => {
  const none = new Map<string, boolean>();
  const cases: { name: string; observed: Parameters<typeof failedChecks>[0]; failed: string[] }[] = [
    {
      name: 'every session Established, services answer, disks read: nothing fails',
      observed: {
        bgp: bgpProtocols(
          PROTOCOLS.replace('start  10:00:01.000  Active        Socket: Connection refused', 'up     10:00:01.000  Established'),
        ),
        services: new Map([['serve', true]]),
        disks: new Map([['/dev/vda', true]]),
      },
      failed: [],
    },
    {
      name: 'a session not Established fails as bgp:PROTOCOL',
      observed: { bgp: bgpProtocols(PROTOCOLS), services: none, disks: none },
      failed: ['bgp:rack0_tor2'],
    },
    { name: 'BIRD not answering fails as bird', observed: { bgp: undefined, services: none, disks: none }, failed: ['bird'] },
    {
      name: 'services and disks fail by name, sorted',
      observed: {
        bgp: [],
        services: new Map([
          ['serve', false],
          ['etcd', false],
        ]),
        disks: new Map([['/dev/vdb', false]]),
      },
      failed: ['url:etcd', 'url:serve', 'disk:/dev/vdb'],
    },
  ];
  for (const { name, observed, failed } of cases) it(name, () => assert.deepEqual(failedChecks(observed), failed));

  it('sets the tags when they change, uptime in steps of a minute, and not otherwise', () => {
    const first = nodeTags(['bgp:rack0_tor2'], 12.5, 'yagura-0.1.0', undefined);
    assert.deepEqual(first, { 'failed-checks': 'bgp:rack0_tor2', uptime: '0', 'os-version': 'yagura-0.1.0' });
    assert.equal(nodeTags(['bgp:rack0_tor2'], 59, 'yagura-0.1.0', first), undefined, 'nothing changed');
    assert.deepEqual(nodeTags([], 59, 'yagura-0.1.0', first)?.['failed-checks'], '', 'all pass: an empty tag, not none');
    assert.equal(nodeTags(['bgp:rack0_tor2'], 61, 'yagura-0.1.0', first)?.uptime, '60');
  });
});
