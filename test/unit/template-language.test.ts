import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { labelsReferenced, machineContext, sampleMachine } from '../../src/boot/templates/context.js';
import { TemplateError } from '../../src/boot/templates/errors.js';
import type { RenderContext } from '../../src/boot/templates/evaluate.js';
import { jsonExpressions, MAX_DEPTH, renderJson, renderText } from '../../src/boot/templates/render.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

const machine = sampleMachine('worker', ['product', 'cke.cybozu.com/role'], EXAMPLE_IPAM, new Date(0));
machine.spec.labels.product = 'R640';
const meta = { ntp: ['10.0.0.1', '10.0.0.2'], site: 'tokyo', nested: { zone: 'a' }, empty: '', nothing: null };
const context = machineContext(machine, 'http://10.69.0.3:10080/', meta);
const text = (template: string) => renderText(template, context);

/** Asserts that rendering throws a TemplateError with this field and expression and a message matching `detail`. */
function refuses(render: () => unknown, field: string, expression: string, detail: RegExp): void {
  assert.throws(render, (error: unknown) => {
    assert.ok(error instanceof TemplateError, `expected a TemplateError, got ${String(error)}`);
    assert.equal(error.field, field);
    assert.equal(error.expression, expression);
    assert.match(error.detail, detail);
    assert.ok(error.message.includes(field) && error.message.includes(expression));
    return true;
  });
}

describe('template language: paths', () => {
  it('reads the machine, the URLs and the metadata', () => {
    assert.equal(text('{{ spec.serial }}'), 'sample-0001');
    assert.equal(text('{{spec.labels.product}}'), 'R640');
    assert.equal(text('{{ spec.labels["cke.cybozu.com/role"] }}'), 'sample');
    assert.equal(text('{{ spec.ipv4[0] }} {{ spec.ipv4[2] }}'), '10.69.0.4 10.69.0.132');
    assert.equal(text('{{ info.network.ipv4[1].gateway }}/{{ info.network.ipv4[1].maskbits }}'), '10.69.0.65/26');
    assert.equal(text('{{ info.bmc.ipv4.address }}'), '10.72.17.4');
    assert.equal(text('{{ spec.index-in-rack }} {{ spec.rack }}'), '4 0');
    assert.equal(text('{{ urls.api }} {{ urls.assets }}'), 'http://10.69.0.3:10080 http://10.69.0.3:10080/api/v1/assets');
    assert.equal(text('{{ meta.site }} {{ meta.ntp[1] }} {{ meta.nested.zone }}'), 'tokyo 10.0.0.2 a');
    assert.equal(text("{{ meta['site'] }}"), 'tokyo');
  });

  it('keeps literal text, including braces that open no placeholder, and string literals as an escape', () => {
    assert.equal(text('no placeholders } { }}'), 'no placeholders } { }}');
    assert.equal(text('a {{ "{{" }} b {{ \'}}\' }}'), 'a {{ b }}');
    assert.equal(text('{{ "tab\\there \\"q\\" \\\\" }}'), 'tab\there "q" \\');
    assert.equal(text('{{\n  spec.serial\n}}'), 'sample-0001');
  });
});

describe('template language: filters', () => {
  it('json, base64, dataurl, default, upper, lower, in pipelines', () => {
    assert.equal(text('{{ spec.ipv4 | json }}'), JSON.stringify(machine.spec.ipv4));
    assert.equal(text('{{ info.bmc.ipv4 | json }}'), JSON.stringify(machine.info.bmc.ipv4));
    assert.equal(text('{{ spec.serial | json }}'), '"sample-0001"');
    assert.equal(text('{{ spec.serial | base64 }}'), Buffer.from('sample-0001').toString('base64'));
    assert.equal(text('{{ meta.ntp | json | base64 }}'), Buffer.from(JSON.stringify(meta.ntp)).toString('base64'));
    assert.equal(text('{{ spec.serial | upper }}|{{ "MiXeD" | lower }}'), 'SAMPLE-0001|mixed');
    assert.equal(text('{{ spec.labels.rack-name | default "none" }}'), 'none');
    assert.equal(text('{{ meta.empty | default "was empty" }} {{ meta.nothing | default "was null" }}'), 'was empty was null');
    assert.equal(text('{{ spec.labels.product | default "none" }}'), 'R640');
    assert.equal(text('{{ meta.ntp[7] | default "-" }}'), '-');
    assert.equal(text('{{ spec.labels.missing | default "x" | upper }}'), 'X');
  });

  it('dataurl gives a data: URL whose decoded contents are the text', () => {
    const url = text('{{ "line 1\\nsp ace/ü!\'()*%#?" | dataurl }}');
    assert.match(url, /^data:,[A-Za-z0-9\-._~%]*$/);
    assert.equal(decodeURIComponent(url.slice('data:,'.length)), "line 1\nsp ace/ü!'()*%#?");
  });
});

describe('template language: errors name the field and the expression', () => {
  const at = '/storage/files/0/contents/source';
  const inFile = (source: string) => () =>
    renderJson({ storage: { files: [{ path: '/etc/x', contents: { source } }] } }, context);

  it('unknown paths, even with a default', () => {
    refuses(inFile('data:,{{ spec.serail }}'), at, 'spec.serail', /unknown path spec\.serail: spec has serial, labels/);
    refuses(inFile('{{ spec.serail | default "x" }}'), at, 'spec.serail | default "x"', /unknown path spec\.serail/);
    refuses(inFile('{{ machine.serial }}'), at, 'machine.serial', /unknown path machine: the context has spec, info, urls, meta/);
    refuses(inFile('{{ spec.ipv4.0 }}'), at, 'spec.ipv4.0', /brackets: \[0\]/);
    refuses(inFile('{{ spec.ipv4.length }}'), at, 'spec.ipv4.length', /is a list of 3: index it/);
    refuses(inFile('{{ spec[0] }}'), at, 'spec[0]', /not a list/);
    refuses(inFile('{{ spec.serial.length }}'), at, 'spec.serial.length', /is the string "sample-0001"/);
  });

  it('missing data without a default: a label, an index past the end', () => {
    refuses(
      inFile('{{ spec.labels.rack-name }}'),
      at,
      'spec.labels.rack-name',
      /no value: spec\.labels has no "rack-name"; write \| default/,
    );
    refuses(inFile('{{ spec.ipv4[3] }}'), at, 'spec.ipv4[3]', /spec\.ipv4 has 3 entries/);
    refuses(inFile('{{ meta.nothing }}'), at, 'meta.nothing', /is null/);
  });

  it('non-scalar values without json', () => {
    refuses(inFile('{{ spec.ipv4 }}'), at, 'spec.ipv4', /is a list of 3, not text: .*\| json/);
    refuses(inFile('{{ info.bmc.ipv4 }}'), at, 'info.bmc.ipv4', /is an object, not text/);
    refuses(inFile('{{ meta.ntp | base64 }}'), at, 'meta.ntp | base64', /base64 needs text; write \| json \| base64/);
  });

  it('unknown filters and syntax errors', () => {
    refuses(inFile('{{ spec.serial | eval }}'), at, 'spec.serial | eval', /unknown filter "eval" \(known: json, base64/);
    refuses(inFile('{{ spec.serial | default }}'), at, 'spec.serial | default', /default needs a quoted string/);
    refuses(inFile('{{ spec.serial | default none }}'), at, 'spec.serial | default none', /default needs a quoted string/);
    refuses(inFile('{{ spec.serial spec.rack }}'), at, 'spec.serial spec.rack', /expected "\|"/);
    refuses(inFile('{{ }}'), at, '', /empty/);
    refuses(inFile('{{ spec.serial()'), at, 'spec.serial()', /unexpected character "\("/);
    refuses(inFile('x {{ spec.serial'), at, 'spec.serial', /not closed/);
    refuses(inFile('{{ "abc }}'), at, '"abc', /string is not closed/);
    refuses(inFile('{{ "\\x" }}'), at, '"\\x"', /unknown escape/);
    refuses(inFile('{{ spec.ipv4[99999999] }}'), at, 'spec.ipv4[99999999]', /too large/);
  });

  it('refuses __proto__, constructor and prototype anywhere in a path', () => {
    for (const path of [
      '__proto__',
      'spec.__proto__',
      'spec.constructor',
      'spec.labels.constructor.prototype',
      'meta["__proto__"]',
      "meta['constructor']",
      'spec.ipv4[0].constructor',
    ]) {
      refuses(inFile(`{{ ${path} }}`), at, path, /is not allowed in a path/);
    }
  });

  it('names the line in text templates, and escapes JSON pointer steps', () => {
    refuses(() => text('#cloud-config\nhostname: x\nfqdn: {{ spec.nope }}\n'), 'line 3', 'spec.nope', /unknown path/);
    refuses(() => renderJson({ 'a/b': { 'c~d': ['{{ x }}'] } }, context), '/a~1b/c~0d/0', 'x', /unknown path x/);
    refuses(() => renderJson({ '{{ spec.serial }}': 1 }, context), '/{{ spec.serial }}', '', /string values only/);
  });
});

describe('template language: JSON documents and bounds', () => {
  it('renders every string value and keeps every other value and key as it is', () => {
    const template = {
      ignition: { version: '3.3.0' },
      storage: {
        files: [{ path: '/etc/hostname', mode: 420, overwrite: true, contents: { source: 'data:,{{ spec.serial }}' } }],
      },
      passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['{{ meta.site }}'] }] },
      other: [null, 1.5, false, JSON.parse('{"__proto__": "plain key"}') as object],
    };
    const rendered = renderJson(JSON.parse(JSON.stringify(template)), context) as typeof template;
    assert.equal(rendered.storage.files[0]!.contents.source, 'data:,sample-0001');
    assert.deepEqual(rendered.passwd.users[0]!.sshAuthorizedKeys, ['tokyo']);
    assert.deepEqual(rendered.other.slice(0, 3), [null, 1.5, false]);
    const withProtoKey = rendered.other[3] as object;
    assert.equal(Object.getPrototypeOf(withProtoKey), Object.prototype);
    assert.deepEqual(Object.keys(withProtoKey), ['__proto__']);
  });

  it('bounds the output, the nesting depth, and the index size', () => {
    const big = machineContext(machine, 'http://x', { blob: 'x'.repeat(1000) });
    const template = '{{ meta.blob }}'.repeat(100);
    assert.equal(renderText(template, big).length, 100_000);
    assert.throws(
      () => renderText(template, big, { maxChars: 99_999 }),
      (e) => e instanceof TemplateError && /over 99999/.test(e.message),
    );
    let deep: unknown = 'leaf';
    for (let i = 0; i <= MAX_DEPTH + 1; i++) deep = [deep];
    assert.throws(
      () => renderJson(deep, context),
      (e) => e instanceof TemplateError && /deeper than/.test(e.message),
    );
  });

  it('collects the labels a template reads, for the sample machine', () => {
    const template = { a: '{{ spec.labels.product }} {{ spec.labels["x/y"] | default "" }}', b: ['{{ spec.serial }}'] };
    assert.deepEqual(labelsReferenced(jsonExpressions(template)), ['product', 'x/y']);
  });
});

describe('template language: properties', () => {
  const fragments = fc.constantFrom(
    '{{',
    '}}',
    '{',
    '}',
    '|',
    '.',
    '[',
    ']',
    '"',
    "'",
    '\\',
    ' ',
    '\n',
    '0',
    '99',
    'spec',
    'serial',
    'labels',
    'ipv4',
    'info',
    'meta',
    'ntp',
    'urls',
    'json',
    'base64',
    'dataurl',
    'default',
    'upper',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'valueOf',
    'process',
    'require',
    'this',
    'globalThis',
    '${1}',
    '()',
    'eval',
    ';',
  );
  const templateText = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 60 }),
    fc.array(fc.oneof(fragments, fc.string({ maxLength: 3 })), { maxLength: 30 }).map((parts) => parts.join('')),
  );

  it('arbitrary template text renders or throws a TemplateError, nothing else', () => {
    fc.assert(
      fc.property(templateText, (template) => {
        try {
          assert.equal(typeof renderText(template, context), 'string');
        } catch (error) {
          assert.ok(error instanceof TemplateError, `threw ${String(error)} for ${JSON.stringify(template)}`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('text without "{{" renders as itself; a quoted literal renders as its value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        if (!s.includes('{{')) assert.equal(text(s), s);
        const literal = `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
        assert.equal(text(`{{ ${literal} }}`), s);
      }),
    );
  });

  it('JSON without placeholders renders to an equal document', () => {
    const noBraces = (value: unknown): boolean => !JSON.stringify(value).includes('{{');
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }).filter(noBraces), (value) => {
        assert.deepEqual(renderJson(value, context), value);
      }),
    );
  });

  it('never reads anything but own data properties, never reaches code, never pollutes prototypes', () => {
    const reads: { target: object; key: PropertyKey }[] = [];
    const asked: PropertyKey[] = [];
    const watched = (value: unknown): unknown => {
      if (typeof value !== 'object' || value === null) return value;
      const inner = Array.isArray(value)
        ? value.map(watched)
        : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, watched(v)]));
      return new Proxy(inner as object, {
        get(target, key, receiver) {
          reads.push({ target, key });
          return Reflect.get(target, key, receiver) as unknown;
        },
        getOwnPropertyDescriptor(target, key) {
          asked.push(key);
          return Reflect.getOwnPropertyDescriptor(target, key);
        },
      });
    };
    const root = watched(context.root) as Record<string, unknown>;
    const spec = root.spec as { labels: object };
    const openMaps = new Set<object>([spec.labels, root.meta as object, (root.meta as { nested: object }).nested]);
    const watchedContext: RenderContext = { root, openMaps };

    const step = fc.oneof(
      fc.constantFrom('spec', 'labels', 'serial', 'ipv4', 'info', 'network', 'bmc', 'meta', 'ntp', 'nested', 'urls', 'api'),
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'length', 'call', 'bind'),
      fc.constantFrom('[0]', '[1]', '[5]', '["__proto__"]', "['constructor']", '["toString"]'),
    );
    const filter = fc.constantFrom(
      '',
      ' | json',
      ' | base64',
      ' | dataurl',
      ' | upper',
      ' | default "d"',
      ' | eval',
      ' | constructor',
    );
    const expression = fc
      .tuple(fc.array(step, { minLength: 1, maxLength: 5 }), fc.array(filter, { maxLength: 3 }))
      .map(([steps, filters]) => steps.map((s, i) => (i === 0 || s.startsWith('[') ? s : `.${s}`)).join('') + filters.join(''));

    fc.assert(
      fc.property(expression, (source) => {
        reads.length = 0;
        asked.length = 0;
        let out: string | undefined;
        try {
          out = renderText(`{{ ${source} }}`, watchedContext);
        } catch (error) {
          assert.ok(error instanceof TemplateError, `threw ${String(error)} for ${source}`);
        }
        for (const { target, key } of reads) {
          // JSON.stringify asks every object for toJSON; plain data has none.
          if (key === 'toJSON') continue;
          assert.ok(typeof key === 'string' && Object.hasOwn(target, key), `read ${String(key)} of ${source}`);
        }
        for (const key of asked)
          assert.ok(!['__proto__', 'constructor', 'prototype'].includes(String(key)), `looked up ${String(key)}`);
        if (out !== undefined) assert.doesNotMatch(out, /native code|function|=>/);
      }),
      { numRuns: 3000 },
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
  });
});
