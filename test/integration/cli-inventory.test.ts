/**
 * The inventory commands as a user runs them: the built `yagura` binary
 * against a real `yagura serve` (embedded store in a temp dir, 127.0.0.1 only).
 * Every assertion is on what the user sees — output, exit code — and on what
 * really changed on the server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditRecord } from '../../src/inventory/audit.js';
import type { Machine } from '../../src/inventory/model.js';
import { makeCerts } from '../helpers/certs.js';
import { type Finished, RunningYagura, YAGURA, runYagura, assertOneLine, assertOk } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

const IPAM = EXAMPLE_IPAM;

const MACHINES = [
  { serial: 'boot-0', rack: 0, role: 'boot', bmc: { type: 'IPMI-2.0' }, labels: { datacenter: 'tokyo1' } },
  { serial: 'cs-1', rack: 1, role: 'cs', bmc: { type: 'iDRAC-9' }, labels: { datacenter: 'tokyo1', gpu: 'yes' } },
  { serial: 'cs-2', rack: 1, role: 'cs', bmc: { type: 'IPMI-2.0' } },
];

const ME = userInfo().username;

/** A table as the user sees it: rows of cells keyed by the header. */
function parseTable(stdout: string): Record<string, string>[] {
  const [header, ...rows] = stdout.trimEnd().split('\n');
  const names = header!.split(/\s{2,}/);
  return rows.map((row) => Object.fromEntries(row.split(/\s{2,}/).map((cell, i) => [names[i], cell])));
}

/** Runs yagura with `input` on stdin (runYagura gives it none). */
function runWithStdin(args: string[], input: string): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [YAGURA, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('yagura inventory commands against yagura serve', () => {
  const dir = tempDir('cli-inventory');
  let server: RunningYagura | undefined;
  let url = '';
  // Flags win over the environment, but a token or CA from the caller's environment must not leak in.
  const yagura = (...args: string[]) =>
    runYagura([...args, '--server', url], { env: { YAGURA_TOKEN: undefined, YAGURA_CACERT: undefined } });
  const file = (name: string, content: unknown) => {
    const path = join(dir.path, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const machinesJson = async (...filters: string[]) => {
    const result = await yagura('machines', 'get', ...filters, '-o', 'json');
    assertOk(result);
    return JSON.parse(result.stdout) as Machine[];
  };
  const serials = async (...filters: string[]) => (await machinesJson(...filters)).map((m) => m.spec.serial);

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = new RunningYagura(['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir.path, 'data')]);
    await server.waitFor('"serving"');
  });

  after(async () => {
    try {
      if (server) assert.equal(await server.stop('SIGTERM'), 0, server.stderr);
    } finally {
      dir.remove();
    }
  });

  it('says in one line when no server answers, naming the URL and what to do', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    let result = await runYagura(['machines', 'get', '--server', nowhere]);
    assert.equal(result.code, 1);
    assertOneLine(
      result.stderr,
      new RegExp(
        `^yagura: cannot reach the Yagura server at ${nowhere} \\(ECONNREFUSED\\): start yagura serve or set --server / YAGURA_SERVER$`,
      ),
    );
    // The environment variable is used when there is no flag.
    result = await runYagura(['ipam', 'get'], { env: { YAGURA_SERVER: nowhere } });
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /cannot reach the Yagura server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    result = await runYagura(['machines', 'get', '--server', 'ftp://127.0.0.1']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /must be an http:\/\/ or https:\/\/ URL/);
  });

  it('shows help with examples, and exits 2 on usage errors', async () => {
    let result = await runYagura(['machines', 'get', '--help']);
    assertOk(result);
    assert.match(result.stdout, /--without-state <state>/);
    assert.match(result.stdout, /Examples:\n {2}yagura machines get/);
    result = await runYagura(['machines', '--help']);
    assertOk(result);
    for (const verb of ['create', 'get', 'get-state', 'set-state', 'set-label', 'remove-label', 'set-retire-date', 'remove'])
      assert.match(result.stdout, new RegExp(`\\n {2}${verb} `));
    result = await yagura('machines', 'frobnicate');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command 'frobnicate'/);
    result = await yagura('machines', 'create');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /required option '-f, --file <file>' not specified/);
    result = await yagura('machines', 'get', '-o', 'yaml');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Allowed choices are table, json/);
  });

  it('sets and shows IPAM; refuses machines before IPAM and a bad IPAM naming the field', async () => {
    let result = await yagura('ipam', 'get');
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /^yagura: IPAM config not found$/);
    result = await yagura('machines', 'create', '-f', file('early.json', MACHINES));
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /IPAM is not configured: set it first/);

    result = await yagura('ipam', 'set', '-f', file('bad-ipam.json', { ...IPAM, 'node-ipv4-pool': '10.69.0.1/16' }));
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /\(field: node-ipv4-pool\)$/);
    result = await yagura('ipam', 'set', '-f', file('broken.json', '{\n  "max-nodes-in-rack": 28,\n  oops\n}'));
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /broken\.json:3:3: not valid JSON/);
    result = await yagura('ipam', 'set', '-f', join(dir.path, 'missing.json'));
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /missing\.json: cannot read it \(ENOENT\)/);
    result = await yagura('ipam', 'set', '-f', file('array.json', [IPAM]));
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /array\.json: expected a JSON object of IPAM settings/);

    result = await yagura('ipam', 'set', '-f', file('ipam.json', IPAM));
    assertOk(result);
    assert.equal(result.stdout, 'IPAM config set\n');
    result = await yagura('ipam', 'get');
    assertOk(result);
    assert.match(result.stdout, /^max-nodes-in-rack +28$/m);
    assert.match(result.stdout, /^node-ipv4-pool +10\.69\.0\.0\/16$/m);
    assert.equal(result.stdout.trim().split('\n').length, Object.keys(IPAM).length);
    result = await yagura('ipam', 'get', '-o', 'json');
    assertOk(result);
    assert.deepEqual(JSON.parse(result.stdout), IPAM);
  });

  it('sets and shows the DHCP config', async () => {
    let result = await yagura('dhcp', 'get');
    assertOk(result);
    assert.match(result.stdout, /^lease-minutes +60$/m);
    assert.match(result.stdout, /^dns-servers +-$/m);
    result = await yagura(
      'dhcp',
      'set',
      '-f',
      file('dhcp.json', { 'lease-minutes': 120, 'dns-servers': ['10.0.0.53', '10.0.1.53'] }),
    );
    assertOk(result);
    assert.equal(result.stdout, 'DHCP config set\n');
    result = await yagura('dhcp', 'get');
    assert.match(result.stdout, /^lease-minutes +120$/m);
    assert.match(result.stdout, /^dns-servers +10\.0\.0\.53,10\.0\.1\.53$/m);
    result = await yagura('dhcp', 'get', '-o', 'json');
    assert.deepEqual(JSON.parse(result.stdout), { 'lease-minutes': 120, 'dns-servers': ['10.0.0.53', '10.0.1.53'] });
    result = await yagura('dhcp', 'set', '-f', file('bad-dhcp.json', { 'dns-servers': ['dns.example'] }));
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /\(field: dns-servers\[0\]\)$/);
  });

  it('registers machines from a file and from stdin, and prints them as a table', async () => {
    let result = await yagura('machines', 'create', '-f', file('machines.json', MACHINES));
    assertOk(result);
    const [first, ...rest] = result.stdout.split('\n');
    assert.equal(first, 'registered 3 machines');
    const rows = parseTable(rest.join('\n'));
    assert.deepEqual(
      rows.map((r) => r.SERIAL),
      ['boot-0', 'cs-1', 'cs-2'],
    );
    // sabakan's worked example: rack 0's first node is index 3, at the start of each range.
    assert.deepEqual(rows[0], {
      SERIAL: 'boot-0',
      RACK: '0',
      INDEX: '3',
      ROLE: 'boot',
      STATE: 'uninitialized',
      IPV4: '10.69.0.3',
      BMC: '10.72.17.3',
      LABELS: 'datacenter=tokyo1',
    });
    assert.equal(rows[1]!.LABELS, 'datacenter=tokyo1,gpu=yes');
    assert.equal(rows[2]!.LABELS, '-');

    result = await yagura('machines', 'create', '-f', file('again.json', [MACHINES[1]]));
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /^yagura: machine cs-1 is already registered \(field: \[0\]\.serial\)$/);
    result = await yagura('machines', 'create', '-f', file('no-bmc.json', [{ serial: 'x-1', rack: 0, role: 'cs', bmc: {} }]));
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /\(field: \[0\]\.bmc\.type\)$/);

    result = await runWithStdin(
      ['machines', 'create', '-f', '-', '--server', url],
      JSON.stringify([{ serial: 'ss-1', rack: 2, role: 'ss', bmc: { type: 'IPMI-2.0' } }]),
    );
    assertOk(result);
    assert.match(result.stdout, /^registered 1 machine\n/);
    assert.deepEqual(await serials(), ['boot-0', 'cs-1', 'cs-2', 'ss-1']);
  });

  it('finds machines with filters, their without- forms and -o json', async () => {
    const table = await yagura('machines', 'get');
    assertOk(table);
    assert.match(table.stdout, /^SERIAL +RACK +INDEX +ROLE +STATE +IPV4 +BMC +LABELS\n/);
    assert.equal(parseTable(table.stdout).length, 4);

    // Read-only, so the searches run side by side: [flags, serials found].
    const searches: [string, string][] = [
      ['--rack 1', 'cs-1 cs-2'],
      ['--rack 0 --rack 2', 'boot-0 ss-1'],
      ['--serial cs-2,ss-1', 'cs-2 ss-1'],
      ['--role cs --bmc-type IPMI-2.0', 'cs-2'],
      ['--label datacenter=tokyo1', 'boot-0 cs-1'],
      ['--label datacenter=tokyo1 --label gpu=yes', 'cs-1'],
      ['--without-role cs', 'boot-0 ss-1'],
      ['--without-label gpu=yes --without-rack 2', 'boot-0 cs-2'],
      ['--ipv4 10.69.0.3', 'boot-0'],
      ['--state uninitialized --without-bmc-type iDRAC-9', 'boot-0 cs-2 ss-1'],
    ];
    const found = await Promise.all(searches.map(([flags]) => serials(...flags.split(' '))));
    for (const [i, [flags, expected]] of searches.entries()) assert.deepEqual(found[i], expected.split(' '), flags);
    const [machine] = await machinesJson('--serial', 'cs-1');
    assert.equal(machine!.spec.role, 'cs');
    assert.deepEqual(machine!.spec.labels, { datacenter: 'tokyo1', gpu: 'yes' });
    assert.equal(machine!.status.state, 'uninitialized');

    let result = await yagura('machines', 'get', '--role', 'nothing-like-this');
    assertOk(result);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'no machines match\n');
    assert.deepEqual(await machinesJson('--role', 'nothing-like-this'), []);

    result = await yagura('machines', 'get', '--state', 'sleepy');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /"sleepy" must be one of uninitialized, healthy/);
    result = await yagura('machines', 'get', '--rack', 'one');
    assert.equal(result.code, 2);
    result = await yagura('machines', 'get', '--label', 'gpu');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /"gpu" must be name=value/);
    result = await yagura('machines', 'get', '--state', 'healthy', '--without-state', 'retired');
    assert.equal(result.code, 2);
    assertOneLine(result.stderr, /--state and --without-state cannot be combined/);
  });

  it('reads and changes states, refusing what the lifecycle forbids', async () => {
    let result = await yagura('machines', 'get-state', 'cs-1');
    assertOk(result);
    assert.equal(result.stdout, 'uninitialized\n');
    result = await yagura('machines', 'set-state', 'cs-1', 'healthy');
    assertOk(result);
    assert.equal(result.stdout, 'cs-1 is now healthy\n');
    result = await yagura('machines', 'get-state', 'cs-1', '-o', 'json');
    assert.deepEqual(JSON.parse(result.stdout), { serial: 'cs-1', state: 'healthy' });
    assert.deepEqual(await serials('--state', 'healthy'), ['cs-1']);
    assert.deepEqual(await serials('--without-state', 'healthy'), ['boot-0', 'cs-2', 'ss-1']);

    result = await yagura('machines', 'set-state', 'cs-1', 'retired');
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /transition from healthy to retired is forbidden/);
    result = await yagura('machines', 'set-state', 'cs-1', 'sleepy');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Allowed choices are uninitialized, healthy/);
    result = await yagura('machines', 'get-state', 'nobody');
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /^yagura: machine nobody not found$/);
    assert.equal((await yagura('machines', 'get-state', 'cs-1')).stdout, 'healthy\n');
  });

  it('sets and removes labels', async () => {
    let result = await yagura('machines', 'set-label', 'cs-2', 'zone', 'a');
    assertOk(result);
    assert.equal(result.stdout, 'cs-2: label zone=a set\n');
    assert.deepEqual((await machinesJson('--serial', 'cs-2'))[0]!.spec.labels, { zone: 'a' });
    assert.deepEqual(await serials('--label', 'zone=a'), ['cs-2']);
    result = await yagura('machines', 'set-label', 'cs-2', 'zone', 'not valid!');
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /\(field: value\)$/);
    result = await yagura('machines', 'remove-label', 'cs-2', 'zone');
    assertOk(result);
    assert.equal(result.stdout, 'cs-2: label zone removed\n');
    assert.deepEqual((await machinesJson('--serial', 'cs-2'))[0]!.spec.labels, {});
  });

  it('sets retire dates given as a day or as RFC 3339, and refuses anything else with exit 2', async () => {
    let result = await yagura('machines', 'set-retire-date', 'cs-2', '2030-01-31');
    assertOk(result);
    assert.equal(result.stdout, 'cs-2: retire date set to 2030-01-31T00:00:00Z\n');
    assert.equal((await machinesJson('--serial', 'cs-2'))[0]!.spec['retire-date'], '2030-01-31T00:00:00.000Z');
    result = await yagura('machines', 'set-retire-date', 'cs-2', '2031-06-01T09:00:00+09:00');
    assertOk(result);
    assert.equal((await machinesJson('--serial', 'cs-2'))[0]!.spec['retire-date'], '2031-06-01T00:00:00.000Z');
    const bad = ['31/01/2030', '2030-02-30', '2030-01-31 00:00', 'tomorrow'];
    for (const [i, refused] of (await Promise.all(bad.map((d) => yagura('machines', 'set-retire-date', 'cs-2', d)))).entries()) {
      assert.equal(refused.code, 2, bad[i]);
      assert.match(refused.stderr, /must be an RFC 3339 date-time/);
    }
    assert.equal((await machinesJson('--serial', 'cs-2'))[0]!.spec['retire-date'], '2031-06-01T00:00:00.000Z');
  });

  it('retires a machine: deletes its disk keys, then removes it', async () => {
    // A machine escrows its key itself (no CLI command for that); it names the user as the CLI does.
    const put = await fetch(`${url}/api/v1/crypts/ss-1/disk0`, {
      method: 'PUT',
      body: 'secret-key-bytes',
      headers: { 'x-sabakan-user': ME },
    });
    assert.equal(put.status, 201);
    let result = await yagura('crypts', 'delete', 'ss-1');
    assert.equal(result.code, 1);
    assertOneLine(
      result.stderr,
      /disk keys can be deleted only while the machine is retiring; ss-1 is uninitialized \(field: state\)/,
    );
    result = await yagura('machines', 'remove', 'ss-1');
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /only retired machines can be removed; ss-1 is uninitialized/);

    assertOk(await yagura('machines', 'set-state', 'ss-1', 'retiring'));
    result = await yagura('crypts', 'delete', 'ss-1');
    assertOk(result);
    assert.equal(result.stdout, 'deleted 1 disk key of ss-1\n  disk0\n');
    assert.equal((await fetch(`${url}/api/v1/crypts/ss-1/disk0`)).status, 404);
    result = await yagura('crypts', 'delete', 'ss-1');
    assertOk(result);
    assert.equal(result.stdout, 'deleted 0 disk keys of ss-1\n');

    assertOk(await yagura('machines', 'set-state', 'ss-1', 'retired'));
    result = await yagura('machines', 'remove', 'ss-1');
    assertOk(result);
    assert.equal(result.stdout, 'removed machine ss-1\n');
    assert.deepEqual(await serials('--serial', 'ss-1'), []);
    result = await yagura('machines', 'remove', 'ss-1');
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /^yagura: machine ss-1 not found$/);
  });

  it('sends YAGURA_TOKEN as a bearer token and reports the server refusing it', async () => {
    const result = await runYagura(['machines', 'set-state', 'cs-2', 'healthy', '--server', url], {
      env: { YAGURA_TOKEN: 'bogus' },
    });
    assert.equal(result.code, 1);
    assertOneLine(result.stderr, /^yagura: the bearer token is not valid$/);
    assert.equal((await yagura('machines', 'get-state', 'cs-2')).stdout, 'uninitialized\n');
  });

  it('prints the audit log as a table naming the local user, or as JSON lines', async () => {
    let result = await yagura('logs');
    assertOk(result);
    assert.match(result.stdout, /^TIME +REV +USER +IP +CATEGORY +INSTANCE +ACTION +DETAIL\n/);
    const rows = parseTable(result.stdout);
    const register = rows.find((r) => r.ACTION === 'register' && r.INSTANCE === 'boot-0,cs-1,cs-2');
    assert.ok(register, result.stdout);
    assert.equal(register.USER, ME);
    assert.equal(register.IP, '127.0.0.1');
    assert.equal(register.CATEGORY, 'machines');
    assert.ok(rows.some((r) => r.CATEGORY === 'ipam' && r.ACTION === 'set'));
    assert.ok(rows.some((r) => r.INSTANCE === 'ss-1' && r.ACTION === 'remove'));

    result = await yagura('logs', '-o', 'json');
    assertOk(result);
    const records = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditRecord);
    assert.equal(records.length, rows.length);
    assert.ok(records.every((r) => r.user === ME));
    const revisions = records.map((r) => r.rev);
    assert.deepEqual(
      revisions,
      [...revisions].sort((a, b) => a - b),
    );

    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    result = await yagura('logs', '--since', today, '-o', 'json');
    assert.ok(result.stdout.trim().split('\n').length >= 1);
    result = await yagura('logs', '--since', '20991231');
    assertOk(result);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'no audit records\n');
    const bad = ['2030011', '20300230', 'yesterday'];
    for (const [i, refused] of (await Promise.all(bad.map((day) => yagura('logs', '--until', day)))).entries()) {
      assert.equal(refused.code, 2, bad[i]);
      assert.match(refused.stderr, /must be a day as YYYYMMDD/);
    }
  });

  it('talks HTTPS to a server with a private CA given by --cacert or YAGURA_CACERT', async () => {
    const certs = makeCerts(dir.path);
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    const tls = new RunningYagura([
      'serve',
      '--listen',
      `127.0.0.1:${httpPort}`,
      '--tls-listen',
      `127.0.0.1:${httpsPort}`,
      '--tls-cert',
      certs.serverCertFile,
      '--tls-key',
      certs.serverKeyFile,
      '--data-dir',
      join(dir.path, 'tls-data'),
    ]);
    try {
      await tls.waitFor('"serving"');
      const secure = `https://127.0.0.1:${httpsPort}`;
      // Disk keys are served only over HTTPS: the plain listener says so, and how to reach the other.
      let result = await runYagura(['crypts', 'delete', 'm-1', '--server', `http://127.0.0.1:${httpPort}`]);
      assert.equal(result.code, 1);
      assertOneLine(
        result.stderr,
        /disk keys are served only on the TLS listener \(--tls-listen\): use --server https:\/\/127\.0\.0\.1:10443/,
      );
      result = await runYagura(['crypts', 'delete', 'm-1', '--server', secure]);
      assert.equal(result.code, 1);
      assertOneLine(
        result.stderr,
        /cannot trust the certificate of the Yagura server at https:\/\/127\.0\.0\.1:\d+ \(\w+\): pass the CA/,
      );
      result = await runYagura(['crypts', 'delete', 'm-1', '--server', secure, '--cacert', certs.otherCaFile]);
      assert.equal(result.code, 1);
      assertOneLine(result.stderr, /cannot trust the certificate/);
      result = await runYagura(['crypts', 'delete', 'm-1', '--server', secure, '--cacert', join(dir.path, 'no-ca.pem')]);
      assert.equal(result.code, 1);
      assertOneLine(result.stderr, /--cacert .*no-ca\.pem: cannot read it \(ENOENT\)/);

      result = await runYagura(['crypts', 'delete', 'm-1', '--server', secure, '--cacert', certs.caFile]);
      assert.equal(result.code, 1);
      assertOneLine(result.stderr, /^yagura: machine m-1 not found$/);
      result = await runYagura(['dhcp', 'get', '-o', 'json'], { env: { YAGURA_SERVER: secure, YAGURA_CACERT: certs.caFile } });
      assertOk(result);
      assert.deepEqual(JSON.parse(result.stdout), { 'lease-minutes': 60, 'dns-servers': [] });
    } finally {
      assert.equal(await tls.stop('SIGTERM'), 0, tls.stderr);
    }
  });
});
