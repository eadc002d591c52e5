/**
 * `yagura dc` as a user meets it before anything runs: topology problems,
 * pictures of a topology, and the commands' answers when there is nothing to
 * act on. (The data centers themselves: vdc-netns, vdc-dc-vm, vdc-uplink.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertOk, YAGURA } from '../helpers/cli.js';
import { TestDc, namespacesOf } from '../helpers/dc.js';
import { tempDir } from '../helpers/temp.js';

const BGP = 'test/fixtures/vdc/bgp/dc.yml';
const EXAMPLE = 'test/fixtures/vdc/example.yml';

describe('yagura dc: before anything runs', () => {
  const dc = new TestDc('cli');
  const dir = tempDir('dc-cli');
  after(() => {
    dc.dispose();
    dir.remove();
  });

  it('up refuses a topology with problems, naming file, line and column for each, and creates nothing', async () => {
    const result = await dc.up(['test/fixtures/vdc/cluster-with-errors.yml']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /yagura: 3 problems in the topology:/);
    assert.match(
      result.stderr,
      /cluster-with-errors\.yml:23:14 Node rack0-cs1: interfaces\[1\]\.network: unknown network "r0-node3"/,
    );
    assert.match(result.stderr, /cluster-with-errors\.yml:31:11 Node rack0-cs1: volumes\[0\]\.size: must be a size with a unit/);
    assert.deepEqual(namespacesOf(dc.name), []);
    assert.ok(!existsSync(dc.runDir), 'no run dir for a refused topology');
  });

  it('up names a missing file and a bad data center name', async () => {
    const missing = await dc.up(['no/such/dc.yml']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read no\/such\/dc\.yml: no such file/);
    const badName = await dc.yagura(['dc', 'up', BGP, '--name', 'Bad.Name']);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /"Bad\.Name" is not a valid data center name/);
  });

  it('graph draws topology files as Mermaid, as dot that Graphviz renders, and as an HTML page with an SVG', async () => {
    const mermaid = await dc.yagura(['dc', 'graph', BGP, '--format', 'mermaid']);
    assertOk(mermaid);
    assert.match(mermaid.stdout, /^graph LR$/m);
    for (const name of ['router1', 'router2', 'server1', 'server2']) assert.match(mermaid.stdout, new RegExp(`<b>${name}</b>`));
    assert.match(mermaid.stdout, /delay 20ms/);

    const dot = await dc.yagura(['dc', 'graph', EXAMPLE, '--format', 'dot']);
    assertOk(dot);
    const svg = execFileSync('dot', ['-Tsvg'], { input: dot.stdout }).toString();
    assert.match(svg, /<svg/);
    assert.match(svg, /rack0&#45;tor1/); // graphviz escapes the hyphen

    const out = join(dir.path, 'example.html');
    const html = await dc.yagura(['dc', 'graph', EXAMPLE, '--out', out, '--no-open']);
    assertOk(html);
    assert.match(html.stderr, /wrote .*example\.html/);
    const page = readFileSync(out, 'utf8');
    assert.match(page, /<svg[\s>]/);
    assert.match(page, /rack0-boot/);
    execFileSync('xmllint', ['--noout', '--html', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  });

  it('down of a data center that is not running succeeds and says so; status says nothing runs; power and fault check their words', async () => {
    const down = await dc.down();
    assertOk(down);
    assert.match(down.stderr, /is not running: nothing to remove/);
    const status = await dc.yagura(['dc', 'status']);
    assertOk(status);
    assert.match(status.stderr, /no data center is running/);
    const power = await dc.yagura(['dc', 'power', 'vm1', 'bogus']);
    assert.equal(power.code, 2);
    assert.match(power.stderr, /unknown power action "bogus"/);
    const fault = await dc.yagura(['dc', 'fault', 'vm1', 'disk0']);
    assert.equal(fault.code, 2);
    assert.match(fault.stderr, /unknown part "disk0": parts are drive0, drive1, psu0, psu1, fan0, .*, dimm3$/m);
    const mend = await dc.yagura(['dc', 'fault', 'vm1', '--mend']);
    assert.equal(mend.code, 2);
    assert.match(mend.stderr, /say which part to mend/);
    const exec = await dc.exec('server1', ['true']);
    assert.equal(exec.code, 1);
    assert.match(exec.stderr, /no data center named "t\d+x\d+-cli" is running/);
  });

  it('demo (npm start) without root says it needs root and how to run it, in one line, and makes nothing', () => {
    let stderr = '';
    let code = 0;
    try {
      // As a user without root would be: getuid() is all the CLI asks (the test itself runs as root).
      execFileSync(process.execPath, ['--import', 'data:text/javascript,process.getuid=()=>1000', YAGURA, 'dc', 'demo'], {
        env: { ...process.env, ...dc.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      code = (error as { status: number }).status;
      stderr = String((error as { stderr: Buffer }).stderr);
    }
    assert.equal(code, 1);
    assert.equal(
      stderr,
      'yagura: the demo data center needs root (network namespaces, bridges, taps, Debian packages): run `sudo npm start` or `sudo yagura dc demo`\n',
    );
    assert.deepEqual(namespacesOf('demo'), []);
  });
});
