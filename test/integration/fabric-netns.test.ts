/**
 * A generated site, run: `yagura dc generate` turns the 2-rack netns spec
 * (test/fixtures/fabric/2racks-netns.yml) into a data center, `dc up` starts
 * it with real BIRD on every spine, ToR and server and dnsmasq relaying DHCP
 * on every ToR. Every BGP session must come up, a server in rack 0 must reach
 * a server's node0 in rack 1, and each server must route over both ToRs
 * (ECMP). As root; everything lives in the DC's own namespaces and is removed
 * afterwards, also when a test fails.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertOk, runYagura } from '../helpers/cli.js';
import { TestDc } from '../helpers/dc.js';
import { tempDir } from '../helpers/temp.js';

const SPEC = fileURLToPath(new URL('../fixtures/fabric/2racks-netns.yml', import.meta.url));

/**
 * Every BIRD instance of the site and its BGP protocols' names: read from the
 * generated configs of spines, ToRs and boot servers; a server's BIRD config
 * comes from its Ignition template (`yagura node join`), with a session to
 * each ToR of its rack.
 */
function bgpSessions(out: string, node: string): string[] {
  const path = join(out, 'bird', `${node}.conf`);
  if (!existsSync(path)) {
    const rack = /^rack(\d+)-/.exec(node)?.[1];
    assert.ok(rack !== undefined, `${node} has no generated BIRD config and is no server`);
    return [`rack${rack}_tor1`, `rack${rack}_tor2`];
  }
  const config = readFileSync(path, 'utf8');
  return [...config.matchAll(/^protocol bgp (\S+) from/gm)].map((match) => match[1]!);
}

describe('yagura dc generate: a 2-rack netns site, run', () => {
  const out = tempDir('fabric-site');
  const dc = new TestDc('fabric');
  let members: string[] = [];

  before(async () => {
    const generated = await runYagura(['dc', 'generate', SPEC, '-o', join(out.path, 'site')]);
    assertOk(generated);
    const summary = generated.stdout;
    members = [...summary.matchAll(/^ {2}(\S+)\s+netns\s/gm)].map((match) => match[1]!);
    members.push('spine1', 'spine2', 'rack0-tor1', 'rack0-tor2', 'rack1-tor1', 'rack1-tor2');
    assertOk(await dc.up([join(out.path, 'site', 'dc.yml')]));
  });

  after(async () => {
    try {
      await dc.down();
    } finally {
      dc.dispose();
      out.remove();
    }
  });

  it('establishes every BGP session: ToR–spine eBGP and server–ToR iBGP', async () => {
    assert.equal(members.length, 12);
    const deadline = Date.now() + 90_000;
    const pending = new Map(members.map((member) => [member, bgpSessions(join(out.path, 'site'), member)]));
    let last = '';
    while (pending.size > 0 && Date.now() < deadline) {
      for (const [member, sessions] of pending) {
        const result = await dc.exec(member, ['birdc', '-s', `${dc.runDir}/bird-${member}.ctl`, 'show', 'protocols']);
        last = `${member}:\n${result.stdout}${result.stderr}`;
        const established = sessions.every((name) =>
          new RegExp(`^${name}\\s+BGP\\s.*\\bEstablished\\b`, 'm').test(result.stdout),
        );
        if (established) pending.delete(member);
      }
      if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    assert.equal(pending.size, 0, `not established within 90 s: ${[...pending.keys()].join(', ')}\n${last}`);
  });

  it("routes a rack-1 server's node0 over both ToRs (ECMP) and reaches it from rack 0", async () => {
    const deadline = Date.now() + 30_000;
    let route = '';
    while (Date.now() < deadline) {
      route = (await dc.exec('rack0-cs1', ['ip', 'route', 'show', '10.69.0.196'])).stdout;
      if ((route.match(/nexthop via/g) ?? []).length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.match(route, /src 10\.69\.0\.4\b/, 'traffic leaves from node0');
    assert.match(route, /nexthop via 10\.69\.0\.65 dev eth0/);
    assert.match(route, /nexthop via 10\.69\.0\.129 dev eth1/);
    const ping = await dc.exec('rack0-cs1', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.69.0.196']);
    assertOk(ping);
    assert.match(ping.stdout, /3 received/);
    const tor = (await dc.exec('rack1-tor1', ['ip', 'route', 'show', '10.69.0.4'])).stdout;
    assert.match(tor, /nexthop via 10\.0\.1\.8 dev eth1/, 'the ToR spreads over both spines');
    assert.match(tor, /nexthop via 10\.0\.1\.10 dev eth2/);
  });

  it('runs the DHCP relay on every ToR', async () => {
    const status = await dc.yagura(['dc', 'status', dc.name]);
    assertOk(status);
    assert.equal((status.stdout.match(/dhcp-relay:running/g) ?? []).length, 4);
  });
});
