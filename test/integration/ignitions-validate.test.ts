/**
 * Upload checks of Ignition templates with the real validator
 * (/usr/bin/ignition-validate from Debian's ignition package), through the
 * TemplateRepository on the embedded store: what passes, what is refused with the
 * validator's own message and the field, and where the sample machine's
 * addresses come from.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ignitionValidator } from '../../src/boot/templates/ignition-validate.js';
import { TemplateRepository } from '../../src/boot/templates/repository.js';
import { DomainError, type ErrorKind } from '../../src/lib/errors.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import type { Store } from '../../src/store/interface.js';
import { tempDir } from '../helpers/temp.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

const actor = { user: 'test', ip: '127.0.0.1' };
const API = 'http://127.0.0.1:10080';

function config(files: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ignition: { version: '3.3.0' }, storage: { files }, ...extra };
}
const hostname = { path: '/etc/hostname', mode: 420, contents: { source: 'data:,{{ spec.serial }}' } };

/** Asserts an invalid-input refusal (or one of `kind`) whose message and field are as given. */
async function refused(
  attempt: Promise<unknown>,
  field: string | undefined,
  message: RegExp,
  kind: ErrorKind = 'invalid',
): Promise<void> {
  await assert.rejects(attempt, (error: unknown) => {
    assert.ok(error instanceof DomainError, String(error));
    assert.equal(error.kind, kind);
    assert.equal(error.field, field);
    assert.match(error.message, message);
    return true;
  });
}

describe('Ignition uploads checked with ignition-validate', () => {
  const dir = tempDir('ignitions-validate');
  let store: Store;
  let templates: TemplateRepository;
  let next = 0;
  const put = (template: Record<string, unknown>, meta: Record<string, unknown> = {}, role = 'worker') =>
    templates.putIgnition(role, `1.${next++}`, { template, meta }, API, actor);

  before(async () => {
    store = await openEmbeddedStore({ dataDir: dir.path });
    templates = new TemplateRepository(store);
  });
  after(async () => {
    await store?.close();
    dir.remove();
  });

  it('passes a config with files, systemd units and passwd using placeholders', async () => {
    const template = config(
      [
        hostname,
        { path: '/etc/motd', mode: 420, contents: { source: '{{ meta.motd | dataurl }}' } },
        { path: '/etc/bmc', mode: 384, contents: { source: 'data:;base64,{{ info.bmc.ipv4 | json | base64 }}' } },
        { path: '/opt/bin/tool', mode: 493, contents: { source: '{{ urls.assets }}/tool' } },
      ],
      {
        systemd: {
          units: [
            {
              name: 'hello.service',
              enabled: true,
              contents: '[Service]\nExecStart=/bin/echo {{ spec.ipv4[0] }}\n[Install]\nWantedBy=multi-user.target\n',
            },
            { name: 'fwupd.service', mask: true },
          ],
        },
        passwd: {
          users: [{ name: '{{ meta.user }}', sshAuthorizedKeys: ['{{ meta.key }}'], groups: ['wheel'] }],
          groups: [{ name: 'ops' }],
        },
      },
    );
    const meta = { motd: 'Welcome: ünïcode, spaces / slashes # and 100%\n', user: 'cybozu', key: 'ssh-ed25519 AAAA test' };
    assert.deepEqual(await put(template, meta), { warnings: [] });
  });

  it("refuses a file without a path, a bad mode, a bad data URL, spec 2.2.0 and 3.4.0, with the validator's message", async () => {
    await refused(
      put(config([{ mode: 420, contents: { source: 'data:,x' } }])),
      '/storage/files/0/path',
      /ignition-validate: error at \$\.storage\.files\.0\.path, line \d+ col \d+: path not specified/,
    );
    await refused(
      put(config([hostname, { ...hostname, path: '/etc/x', mode: 99999 }])),
      '/storage/files/1/mode',
      /illegal file mode/,
    );
    await refused(
      put(config([{ path: '/etc/x', contents: { source: 'data:,{{ spec.serial }} and a space' } }])),
      '/storage/files/0/contents/source',
      /invalid data character/,
    );
    await refused(put({ ignition: { version: '2.2.0' } }), '/ignition/version', /unsupported config version/);
    await refused(put({ ignition: { version: '3.4.0' } }), '/ignition/version', /unsupported config version/);
    await refused(put({ ignition: {} }), '/ignition/version', /ignition-validate/);
    assert.deepEqual(await templates.listIgnitions('worker'), ['1.0'], 'only the valid upload was stored');
  });

  it('returns the validator warnings, and keeps a "__proto__" key a plain key', async () => {
    const template = JSON.parse('{"ignition": {"version": "3.3.0"}, "__proto__": {"x": "{{ spec.serial }}"}}') as Record<
      string,
      unknown
    >;
    const { warnings } = await put(template);
    assert.deepEqual(warnings.length, 1);
    assert.match(warnings[0]!, /warning at \$\.__proto__.*Unused key __proto__/);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
  });

  it('renders uploads for the built-in sample machine without IPAM, and for the configured IPAM with one', async () => {
    const twoNics = config([{ path: '/etc/gw', contents: { source: 'data:,{{ info.network.ipv4[1].gateway }}' } }]);
    assert.deepEqual(await put(twoNics), { warnings: [] }, 'the built-in sample has 3 NICs');

    const inventory = new Inventory(store);
    await inventory.config.setIpam({ ...EXAMPLE_IPAM, 'node-ip-per-node': 1 }, actor);
    const withIpam = new TemplateRepository(store, { inventory });
    await refused(
      withIpam.putIgnition('worker', '5.0', { template: twoNics }, API, actor),
      '/storage/files/0/contents/source',
      /\{\{ info\.network\.ipv4\[1\]\.gateway \}\}: no value: info\.network\.ipv4 has 1 entries/,
    );
    const oneNic = config([{ path: '/etc/gw', contents: { source: 'data:,{{ info.network.ipv4[0].gateway }}' } }]);
    assert.deepEqual(await withIpam.putIgnition('worker', '5.0', { template: oneNic }, API, actor), { warnings: [] });
  });

  it('refuses oversized templates and says when the validator is missing', async () => {
    const huge = config([{ path: '/etc/big', contents: { source: `data:,${'x'.repeat(1 << 20)}` } }]);
    await refused(put(huge), 'template', /over 1048576 bytes/, 'too-large');
    const noValidator = new TemplateRepository(store, { validator: ignitionValidator('/nonexistent/ignition-validate') });
    await refused(
      noValidator.putIgnition('worker', '8.0', { template: config([hostname]) }, API, actor),
      undefined,
      /missing on this server: install Debian's ignition package/,
      'unavailable',
    );
  });
});
