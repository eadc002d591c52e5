/**
 * The netboot commands as a user runs them — images, assets, Ignition
 * templates, kernel parameters — with the built `yagura` binary against a real
 * `yagura serve` (embedded store in a temp dir, 127.0.0.1 only, the real
 * ignition-validate). Every assertion is on what the user sees (output, exit
 * code) and on what the server then serves to a booting machine.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Finished, RunningYagura, runYagura, assertOneLine, assertOk } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

const IPAM = EXAMPLE_IPAM;
const SERIAL = 'wk-0001';

/** A valid Ignition 3.3 config whose files carry the machine's serial and a meta value. */
const TEMPLATE = {
  ignition: { version: '3.3.0' },
  storage: {
    files: [
      { path: '/etc/hostname', mode: 420, overwrite: true, contents: { source: 'data:,{{ spec.serial }}' } },
      { path: '/etc/motd', mode: 420, contents: { source: 'data:,{{ meta.motd }}' } },
    ],
  },
};

function assertFails(result: Finished, code: number): void {
  assert.equal(result.code, code, `expected exit ${code}, got ${result.code}:\n${result.stdout}${result.stderr}`);
}

/** A table as the user sees it: rows of cells keyed by the header. */
function parseTable(stdout: string): Record<string, string>[] {
  const [header, ...rows] = stdout.trimEnd().split('\n');
  const names = header!.split(/\s{2,}/);
  return rows.map((row) => Object.fromEntries(row.split(/\s{2,}/).map((cell, i) => [names[i], cell])));
}

/** "name  value" lines as an object. */
function parseKeyValues(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .trimEnd()
      .split('\n')
      .map((line) => /^(\S+) +(.*)$/.exec(line)!.slice(1, 3) as [string, string]),
  );
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('yagura netboot commands against yagura serve', () => {
  const dir = tempDir('cli-boot');
  const files = join(dir.path, 'files');
  mkdirSync(files);
  let server: RunningYagura | undefined;
  let url = '';
  // Flags win over the environment, but a token or CA from the caller's environment must not leak in.
  const yagura = (...args: string[]) =>
    runYagura([...args, '--server', url], { env: { YAGURA_TOKEN: undefined, YAGURA_CACERT: undefined } });
  const file = (name: string, content: unknown) => {
    const path = join(files, name);
    writeFileSync(path, Buffer.isBuffer(content) || typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const fetchBytes = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
  };
  const machineScript = async () => {
    const response = await fetch(`${url}/api/v1/boot/coreos/ipxe/${SERIAL}`);
    assert.equal(response.status, 200);
    return response.text();
  };

  // Sizes that are not whole 512-byte blocks, so the tar padding is exercised.
  const kernel = randomBytes(4000);
  const initrd = randomBytes(6001);

  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = new RunningYagura(['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir.path, 'data')]);
    await server.waitFor('"serving"');
    assertOk(await yagura('ipam', 'set', '-f', file('ipam.json', IPAM)));
    const machines = [{ serial: SERIAL, rack: 0, role: 'worker', bmc: { type: 'IPMI-2.0' } }];
    assertOk(await yagura('machines', 'create', '-f', file('machines.json', machines)));
  });

  after(async () => {
    try {
      if (server) assert.equal(await server.stop('SIGTERM'), 0, server.stderr);
    } finally {
      dir.remove();
    }
  });

  it('lists the verbs of each group, and exits 2 on usage errors', async () => {
    const groups: [string, string[]][] = [
      ['images', ['upload', 'list', 'delete']],
      ['assets', ['upload', 'list', 'info', 'delete']],
      ['ignitions', ['set', 'get', 'list', 'delete']],
      ['kernel-params', ['get', 'set']],
    ];
    for (const [group, verbs] of groups) {
      const result = await runYagura([group, '--help']);
      assertOk(result);
      for (const verb of verbs) assert.match(result.stdout, new RegExp(`\\n {2}${verb} `), `${group} ${verb}`);
      assert.match(result.stdout, new RegExp(`Examples:\\n {2}yagura ${group} `));
    }
    const usage: [string[], RegExp][] = [
      [['images', 'upload', '1.0'], /required option '--kernel <file>' not specified/],
      [['images', 'upload', '1.0', '--kernel', 'k'], /required option '--initrd <file>' not specified/],
      [['images', 'list', '-o', 'yaml'], /Allowed choices are table, json/],
      [['assets', 'upload', 'only-a-name'], /missing required argument 'file'/],
      [['assets', 'upload', 'a', 'f', '--sha256', 'abc'], /--sha256 <hex>' argument 'abc' is invalid\. must be 64 hex digits/],
      [['assets', 'upload', 'a', 'f', '--option', 'no-value'], /must be key=value/],
      [['assets', 'upload', 'a', 'f', '--content-type', 'text'], /must be a media type/],
      [['ignitions', 'set', 'worker', '1.0.0'], /required option '-f, --file <file>' not specified/],
      [['ignitions', 'set', 'worker', '1.0.0', '-f', 'x', '--meta', 'k=1', '--meta', 'k=2'], /k is given twice/],
      [['ignitions', 'list'], /missing required argument 'role'/],
      [['kernel-params', 'set'], /missing required argument 'params'/],
      [['kernel-params', 'frobnicate'], /unknown command 'frobnicate'/],
    ];
    const results = await Promise.all(usage.map(([args]) => yagura(...args)));
    for (const [i, result] of results.entries()) {
      assertFails(result, 2);
      assert.match(result.stderr, usage[i]![1], usage[i]![0].join(' '));
    }
  });

  it('says in one line when no server answers', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const result = await runYagura([
      'images',
      'upload',
      '1.0',
      '--kernel',
      file('k0', kernel),
      '--initrd',
      file('i0', initrd),
      '--server',
      nowhere,
    ]);
    assertFails(result, 1);
    assertOneLine(result.stderr, /cannot reach the Yagura server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  it('uploads an image as a tar built on the fly; machines then get its exact kernel and initrd', async () => {
    let result = await yagura('images', 'list');
    assertOk(result);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'no images\n');

    const kernelFile = file('vmlinuz', kernel);
    const initrdFile = file('initrd.img', initrd);
    result = await yagura('images', 'upload', '1.0.0', '--kernel', kernelFile, '--initrd', initrdFile);
    assertOk(result);
    assert.equal(result.stdout, 'uploaded image 1.0.0 (9.8 KiB)\n');
    // Not a terminal: no progress redraws, one line at the end (the tar: 2 headers, padding, end marker).
    assert.match(result.stderr, /^uploading image 1\.0\.0: sent 12\.0 KiB in \d+\.\d s\n$/);

    const served = await Promise.all(
      ['kernel', 'initrd.gz'].map((name) => fetchBytes(`/api/v1/boot/coreos/images/1.0.0/${name}`)),
    );
    assert.equal(served[0]!.status, 200);
    assert.ok(served[0]!.body.equals(kernel), 'the kernel is served byte-exact');
    assert.equal(served[1]!.status, 200);
    assert.ok(served[1]!.body.equals(initrd), 'the initrd is served byte-exact');

    result = await yagura('images', 'list');
    assertOk(result);
    assert.match(result.stdout, /^ID +DATE +SIZE +EXISTS +URLS\n/);
    const [row, ...others] = parseTable(result.stdout);
    assert.equal(others.length, 0);
    assert.equal(row!.ID, '1.0.0');
    assert.match(row!.DATE!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual({ ...row, DATE: '' }, { ID: '1.0.0', DATE: '', SIZE: '9.8 KiB', EXISTS: 'yes', URLS: '1' });
    result = await yagura('images', 'list', '-o', 'json');
    assertOk(result);
    const [entry] = JSON.parse(result.stdout) as { id: string; size: number; sha256: Record<string, string>; exists: boolean }[];
    assert.equal(entry!.id, '1.0.0');
    assert.equal(entry!.size, kernel.length + initrd.length);
    assert.deepEqual(entry!.sha256, { kernel: sha256(kernel), 'initrd.gz': sha256(initrd) });
    assert.equal(entry!.exists, true);

    // The same files again change nothing; other files under the ID are refused, naming the field.
    result = await yagura('images', 'upload', '1.0.0', '--kernel', kernelFile, '--initrd', initrdFile);
    assertOk(result);
    assert.equal(result.stdout, 'image 1.0.0 is already on the server with the same files: nothing changed\n');
    result = await yagura('images', 'upload', '1.0.0', '--kernel', initrdFile, '--initrd', kernelFile);
    assertFails(result, 1);
    assertOneLine(result.stderr, /^yagura: image 1\.0\.0 already exists with different content: .* \(field: id\)$/);
    result = await yagura('images', 'upload', 'not ok', '--kernel', kernelFile, '--initrd', initrdFile);
    assertFails(result, 1);
    assertOneLine(result.stderr, /image ID "not ok" must be .* \(field: id\)$/);
    result = await yagura('images', 'upload', '2.0.0', '--kernel', join(files, 'missing'), '--initrd', initrdFile);
    assertFails(result, 1);
    assertOneLine(result.stderr, /^yagura: --kernel .*missing: cannot read it \(ENOENT\)$/);
    result = await yagura('images', 'upload', '2.0.0', '--kernel', kernelFile, '--initrd', files);
    assertFails(result, 1);
    assertOneLine(result.stderr, /^yagura: --initrd .*files: not a regular file$/);
    assert.equal((JSON.parse((await yagura('images', 'list', '-o', 'json')).stdout) as unknown[]).length, 1);
  });

  it('sets kernel parameters that every machine’s iPXE script then carries', async () => {
    let result = await yagura('kernel-params', 'get');
    assertOk(result);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'no kernel parameters are set\n');
    result = await yagura('kernel-params', 'get', '-o', 'json');
    assert.deepEqual(JSON.parse(result.stdout), { os: 'coreos', params: '' });

    result = await yagura('kernel-params', 'set', 'console=ttyS0,115200n8', 'coreos.autologin=ttyS0');
    assertOk(result);
    assert.equal(result.stdout, 'kernel parameters set: console=ttyS0,115200n8 coreos.autologin=ttyS0\n');
    result = await yagura('kernel-params', 'get');
    assertOk(result);
    assert.equal(result.stdout, 'console=ttyS0,115200n8 coreos.autologin=ttyS0\n');
    result = await yagura('kernel-params', 'get', '-o', 'json');
    assert.deepEqual(JSON.parse(result.stdout), { os: 'coreos', params: 'console=ttyS0,115200n8 coreos.autologin=ttyS0' });
    const script = await machineScript();
    assert.match(
      script,
      new RegExp(
        `^kernel \\S+/api/v1/boot/coreos/images/1\\.0\\.0/kernel .* console=ttyS0,115200n8 coreos\\.autologin=ttyS0$`,
        'm',
      ),
    );

    result = await yagura('kernel-params', 'set', 'console=ttyS0', 'x=$evil');
    assertFails(result, 1);
    assertOneLine(result.stderr, /must not contain "\$" \(iPXE would interpret it\) \(field: kernel-params\)$/);
    assert.equal((await yagura('kernel-params', 'get')).stdout, 'console=ttyS0,115200n8 coreos.autologin=ttyS0\n');
  });

  it('uploads assets with their SHA-256 checked by the server; they download byte-exact', async () => {
    let result = await yagura('assets', 'list');
    assertOk(result);
    assert.equal(result.stderr, 'no assets\n');
    assert.deepEqual(JSON.parse((await yagura('assets', 'list', '-o', 'json')).stdout), []);

    const script = Buffer.from('#!/bin/sh\necho "set up $(hostname)"\n');
    const setup = file('setup.sh', script);
    result = await yagura('assets', 'upload', 'setup', setup, '--option', 'Arch=amd64', '--option', 'stage=2');
    assertOk(result);
    assert.equal(result.stdout, `uploaded asset setup as ID 1 (${script.length} B, sha256 ${sha256(script)})\n`);
    assert.match(result.stderr, /^uploading asset setup: sent \d+ B in \d+\.\d s\n$/);
    let download = await fetchBytes('/api/v1/assets/setup');
    assert.equal(download.status, 200);
    assert.ok(download.body.equals(script), 'the asset downloads byte-exact');
    assert.equal(download.headers.get('content-type'), 'text/x-shellscript');
    assert.equal(download.headers.get('x-sabakan-asset-sha256'), sha256(script));

    const blob = randomBytes(5000);
    const blobFile = file('firmware.bin', blob);
    result = await yagura('assets', 'upload', 'firmware', blobFile, '--sha256', sha256(blob).toUpperCase());
    assertOk(result);
    assert.match(result.stdout, /^uploaded asset firmware as ID 2 /);
    download = await fetchBytes('/api/v1/assets/firmware');
    assert.ok(download.body.equals(blob));
    assert.equal(download.headers.get('content-type'), 'application/octet-stream');

    // A wrong --sha256: the server refuses and keeps the version it has.
    result = await yagura('assets', 'upload', 'firmware', setup, '--sha256', sha256(blob));
    assertFails(result, 1);
    assertOneLine(
      result.stderr,
      new RegExp(`setup\\.sh does not match --sha256: the body's SHA-256 is ${sha256(script)}, not ${sha256(blob)}`),
    );
    assert.ok((await fetchBytes('/api/v1/assets/firmware')).body.equals(blob), 'the old version stays');

    // A new version replaces the old under a new ID; --content-type wins over the extension.
    result = await yagura('assets', 'upload', 'setup', setup, '--content-type', 'text/plain; charset=utf-8');
    assertOk(result);
    assert.match(result.stdout, /^replaced asset setup: now ID 3 \(/);
    assert.equal((await fetchBytes('/api/v1/assets/setup')).headers.get('content-type'), 'text/plain; charset=utf-8');

    result = await yagura('assets', 'info', 'firmware');
    assertOk(result);
    const info = parseKeyValues(result.stdout);
    assert.equal(info.name, 'firmware');
    assert.equal(info.id, '2');
    assert.equal(info['content-type'], 'application/octet-stream');
    assert.equal(info.size, '5000 (4.9 KiB)');
    assert.equal(info.sha256, sha256(blob));
    assert.equal(info.exists, 'yes');
    assert.equal(info.options, '-');

    result = await yagura(
      'assets',
      'upload',
      'tagged',
      file('tagged.json', '{}'),
      '--option',
      'Arch=amd64',
      '--option',
      'stage=2',
    );
    assertOk(result);
    result = await yagura('assets', 'info', 'tagged', '-o', 'json');
    assertOk(result);
    const tagged = JSON.parse(result.stdout) as { options: Record<string, string>; 'content-type': string; exists: boolean };
    assert.deepEqual(tagged.options, { arch: 'amd64', stage: '2' });
    assert.equal(tagged['content-type'], 'application/json');
    assert.equal(tagged.exists, true);

    result = await yagura('assets', 'list');
    assertOk(result);
    assert.match(result.stdout, /^NAME +ID +CONTENT-TYPE +SIZE +DATE +EXISTS +URLS\n/);
    const rows = parseTable(result.stdout);
    assert.deepEqual(
      rows.map((r) => [r.NAME, r.ID, r['CONTENT-TYPE'], r.SIZE, r.EXISTS, r.URLS]),
      [
        ['firmware', '2', 'application/octet-stream', '4.9 KiB', 'yes', '1'],
        ['setup', '3', 'text/plain; charset=utf-8', `${script.length} B`, 'yes', '1'],
        ['tagged', '4', 'application/json', '2 B', 'yes', '1'],
      ],
    );
    result = await yagura('assets', 'list', '-o', 'json');
    assert.deepEqual(
      (JSON.parse(result.stdout) as { name: string; sha256: string }[]).map((a) => [a.name, a.sha256]),
      [
        ['firmware', sha256(blob)],
        ['setup', sha256(script)],
        ['tagged', sha256(Buffer.from('{}'))],
      ],
    );

    result = await yagura('assets', 'upload', 'bad name!', setup);
    assertFails(result, 1);
    assertOneLine(result.stderr, /asset name "bad name!" must be .* \(field: name\)$/);
    result = await yagura('assets', 'upload', 'x', join(files, 'missing'));
    assertFails(result, 1);
    assertOneLine(result.stderr, /^yagura: .*missing: cannot read it \(ENOENT\)$/);

    // Refused before the body is read: the server answers and closes while a large body is still being
    // sent. Whichever side of that race the client lands on, the user gets the server's reason.
    const large = join(files, 'large.img');
    truncateSync(file('large.img', ''), 64 * 1024 * 1024);
    const refused = await Promise.all([
      yagura('assets', 'upload', 'bad name!', large),
      yagura('assets', 'upload', 'bad name!', large),
      runYagura(['assets', 'upload', 'large', large, '--server', url], { env: { YAGURA_TOKEN: 'bogus' } }),
      runYagura(['assets', 'upload', 'large', large, '--server', url], { env: { YAGURA_TOKEN: 'bogus' } }),
    ]);
    for (const [i, refusal] of refused.entries()) {
      assertFails(refusal, 1);
      assertOneLine(
        refusal.stderr,
        i < 2 ? /asset name "bad name!" must be .* \(field: name\)$/ : /^yagura: the bearer token is not valid$/,
      );
    }
    assert.equal((await fetchBytes('/api/v1/assets/large')).status, 404);

    result = await yagura('assets', 'delete', 'tagged');
    assertOk(result);
    assert.equal(result.stdout, 'deleted asset tagged\n');
    assert.equal((await fetchBytes('/api/v1/assets/tagged')).status, 404);
    for (const verb of ['info', 'delete']) {
      result = await yagura('assets', verb, 'tagged');
      assertFails(result, 1);
      assertOneLine(result.stderr, /^yagura: asset tagged not found$/);
    }
  });

  it('sets Ignition templates that render for each machine, and refuses invalid ones naming the field', async () => {
    let result = await yagura('ignitions', 'list', 'worker');
    assertOk(result);
    assert.equal(result.stderr, 'no Ignition templates for role worker\n');

    const template = file('worker.ign', TEMPLATE);
    result = await yagura('ignitions', 'set', 'worker', '1.0.0', '-f', template, '--meta', 'motd=hello');
    assertOk(result);
    assert.equal(result.stdout, 'Ignition template worker/1.0.0 set\n');
    const rendered = await fetch(`${url}/api/v1/boot/ignitions/${SERIAL}/1.0.0`);
    assert.equal(rendered.status, 200);
    const config = (await rendered.json()) as typeof TEMPLATE;
    assert.equal(config.storage.files[0]!.contents.source, `data:,${SERIAL}`);
    assert.equal(config.storage.files[1]!.contents.source, 'data:,hello');
    assert.match(await machineScript(), new RegExp(`ignition\\.config\\.url=\\S+/api/v1/boot/ignitions/${SERIAL}/1\\.0\\.0`));

    // Invalid after rendering: ignition-validate's complaint, with the field, on one line; nothing stored.
    const noPath = structuredClone(TEMPLATE) as { storage: { files: Record<string, unknown>[] } };
    delete noPath.storage.files[0]!.path;
    result = await yagura('ignitions', 'set', 'worker', '1.1.0', '-f', file('no-path.ign', noPath), '--meta', 'motd=x');
    assertFails(result, 1);
    assertOneLine(result.stderr, /fails ignition-validate: .*path not specified \(field: \/storage\/files\/0\/path\)$/);
    result = await yagura('ignitions', 'set', 'worker', '1.1.0', '-f', template);
    assertFails(result, 1);
    assertOneLine(result.stderr, /meta\.motd.* \(field: \/storage\/files\/1\/contents\/source\)$/);
    result = await yagura(
      'ignitions',
      'set',
      'worker',
      '1.1.0',
      '-f',
      file('broken.ign', '{\n  "ignition": { "version": "3.3.0" },\n}'),
    );
    assertFails(result, 1);
    assertOneLine(result.stderr, /broken\.ign:3:1: not valid JSON/);
    result = await yagura('ignitions', 'set', 'worker', '1.0.0', '-f', template, '--meta', 'motd=again');
    assertFails(result, 1);
    assertOneLine(result.stderr, /\(field: id\)$/);

    result = await yagura(
      'ignitions',
      'set',
      'worker',
      '1.1.0',
      '-f',
      template,
      '--meta-file',
      file('meta.json', { motd: 'from-file', extra: { n: 1 } }),
      '--meta',
      'motd=from-flag',
    );
    assertOk(result);
    const newest = (await (await fetch(`${url}/api/v1/boot/ignitions/${SERIAL}/1.1.0`)).json()) as typeof TEMPLATE;
    assert.equal(newest.storage.files[1]!.contents.source, 'data:,from-flag');

    result = await yagura('ignitions', 'list', 'worker');
    assertOk(result);
    assert.match(result.stdout, /^ID +CREATED +NEWEST +META\n/);
    assert.deepEqual(
      parseTable(result.stdout).map((r) => [r.ID, r.NEWEST, r.META]),
      [
        ['1.0.0', '-', 'motd=hello'],
        ['1.1.0', 'yes', 'motd=from-flag,extra={"n":1}'],
      ],
    );
    result = await yagura('ignitions', 'list', 'worker', '-o', 'json');
    assert.deepEqual(
      (JSON.parse(result.stdout) as { id: string; newest: boolean; meta: unknown }[]).map((v) => [v.id, v.newest, v.meta]),
      [
        ['1.0.0', false, { motd: 'hello' }],
        ['1.1.0', true, { motd: 'from-flag', extra: { n: 1 } }],
      ],
    );

    result = await yagura('ignitions', 'get', 'worker', '1.0.0');
    assertOk(result);
    assert.match(result.stdout, /^role +worker\nid +1\.0\.0\ncreated +\S+\nmeta +motd=hello\ntemplate:\n {2}\{\n/);
    assert.match(result.stdout, / {10}"source": "data:,\{\{ spec\.serial \}\}"/);
    result = await yagura('ignitions', 'get', 'worker', '1.0.0', '-o', 'json');
    assertOk(result);
    const stored = JSON.parse(result.stdout) as { role: string; id: string; template: unknown; meta: unknown };
    assert.deepEqual([stored.role, stored.id, stored.template, stored.meta], ['worker', '1.0.0', TEMPLATE, { motd: 'hello' }]);

    // Deleting the highest version rolls machines back to the one below.
    result = await yagura('ignitions', 'delete', 'worker', '1.1.0');
    assertOk(result);
    assert.equal(result.stdout, 'deleted Ignition template worker/1.1.0; machines of role worker now boot version 1.0.0\n');
    assert.match(await machineScript(), /\/api\/v1\/boot\/ignitions\/wk-0001\/1\.0\.0/);
    result = await yagura('ignitions', 'get', 'worker', '1.1.0');
    assertFails(result, 1);
    assertOneLine(result.stderr, /^yagura: Ignition template 1\.1\.0 of role worker not found$/);
    result = await yagura('ignitions', 'delete', 'worker', '1.0.0');
    assertOk(result);
    assert.equal(result.stdout, 'deleted Ignition template worker/1.0.0; machines of role worker now boot no template\n');
    assert.doesNotMatch(await machineScript(), /ignition\.config\.url/);
  });

  it('deletes images', async () => {
    let result = await yagura('images', 'delete', '1.0.0');
    assertOk(result);
    assert.equal(result.stdout, 'deleted image 1.0.0\n');
    assert.equal((await fetchBytes('/api/v1/boot/coreos/images/1.0.0/kernel')).status, 404);
    assert.deepEqual(JSON.parse((await yagura('images', 'list', '-o', 'json')).stdout), []);
    result = await yagura('images', 'delete', '1.0.0');
    assertFails(result, 1);
    assertOneLine(result.stderr, /1\.0\.0 not found/);
    // A recently deleted ID cannot be reused.
    result = await yagura('images', 'upload', '1.0.0', '--kernel', file('k2', kernel), '--initrd', file('i2', initrd));
    assertFails(result, 1);
    assertOneLine(result.stderr, /was deleted recently and cannot be reused: upload under a new ID \(field: id\)$/);
  });
});
