import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderGraph, type GraphFormat, type MachineStatus } from '../../src/vdc/graph/index.js';
import { layoutGraph, MAX_COLUMNS, type Rect } from '../../src/vdc/graph/layout.js';
import { graphModel } from '../../src/vdc/graph/model.js';
import { parseTopology, type Topology } from '../../src/vdc/spec/index.js';

const FIXTURES = 'test/fixtures/vdc';
const fixture = (name: string) => ({ path: `${FIXTURES}/${name}`, text: readFileSync(`${FIXTURES}/${name}`, 'utf8') });
const yaml = (...documents: string[]) => parseTopology([{ path: 'cluster.yml', text: documents.join('\n---\n') + '\n' }]);

const EXAMPLES: Record<string, () => Topology> = {
  'example.yml': () => parseTopology([fixture('example.yml')]),
  'multi-rack-*.yml': () => parseTopology([fixture('multi-rack-networks.yml'), fixture('multi-rack-nodes.yml')]),
};
const FORMATS: GraphFormat[] = ['mermaid', 'dot', 'html'];

const XMLLINT = '/usr/bin/xmllint';
const DOT = '/usr/bin/dot';

/** `count` netns nodes on networks net0…, `perNetwork` nodes to a network, behind one router. */
function manyNodes(count: number, perNetwork = count): Topology {
  const networks = Math.ceil(count / perNetwork);
  const docs: string[] = [];
  for (let n = 0; n < networks; n++) docs.push(`kind: Network\nname: net${n}`);
  docs.push(
    `kind: NetworkNamespace\nname: router\ninterfaces:\n` +
      Array.from({ length: networks }, (_, n) => `  - {network: net${n}, addresses: [10.${n}.0.1/16]}`).join('\n'),
  );
  for (let i = 0; i < count; i++) {
    const n = Math.floor(i / perNetwork);
    const host = (i % perNetwork) + 2;
    docs.push(
      `kind: Node\ntype: netns\nname: node${i}\ninterfaces:\n  - {network: net${n}, addresses: [10.${n}.${host >> 8}.${host & 255}/16]}`,
    );
  }
  return yaml(...docs);
}

/** What a picture must show for each interface: machine, network and the port with its addresses. */
function expectedEdges(topology: Topology): string[] {
  return [...topology.networkNamespaces, ...topology.nodes]
    .flatMap((machine) =>
      machine.interfaces.map((item) => {
        const port = `${machine.kind === 'Node' && machine.type === 'vm' ? 'nic' : 'eth'}${item.index}`;
        return `${machine.name} | ${item.network} | ${[port, ...item.addresses.map((a) => a.cidr)].join(' ')}`;
      }),
    )
    .sort();
}

const resourceNames = (topology: Topology) => ({
  networks: topology.networks.map((network) => network.name).sort(),
  machines: [...topology.networkNamespaces, ...topology.nodes].map((machine) => machine.name).sort(),
});

// ---------------------------------------------------------------------------
// Readers for each format: what a viewer would see as boxes and edges
// ---------------------------------------------------------------------------

const MERMAID_DECLARATION =
  /^ {2}([A-Za-z0-9_]+)(\{\{|\[\/|\[\\|\(\[|\(|\[)"([^"]*)"(\}\}|\/\]|\\\]|\]\)|\)|\])(?::::([A-Za-z]+))?$/;
const MERMAID_EDGE = /^ {2}([A-Za-z0-9_]+) ---\|"([^"]*)"\| ([A-Za-z0-9_]+)$/;
const CLOSERS: Record<string, string> = { '{{': '}}', '[/': '/]', '[\\': '\\]', '([': '])', '(': ')', '[': ']' };
/** The only markup the renderer puts into Mermaid labels; everything else must be entity codes. */
const MERMAID_MARKUP = /<b>|<\/b>|<br\/>|<span style='color:#cc0000'>|<\/span>/g;

interface Picture {
  /** name → the class or shape words that tell its kind */
  networks: Map<string, string>;
  machines: Map<string, string>;
  /** "machine | network | label" */
  edges: string[];
  /** labels of impaired edges, "machine | network | impairment" */
  impaired: string[];
}

/**
 * Reads a Mermaid flowchart line by line and fails on anything outside the
 * grammar the renderer promises: declarations before use, quoted labels with
 * only entity codes and known markup, edges in one form, classes defined.
 */
function readMermaid(text: string): Picture {
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], '---');
  assert.match(lines[1]!, /^title: ".*"$/);
  JSON.parse(lines[1]!.slice('title: '.length));
  assert.equal(lines[2], '---');
  assert.equal(lines[3], 'graph LR');
  const classes = new Set<string>();
  const declared = new Map<string, { name: string; kind: string; shape: string }>();
  const edges: { from: string; to: string; label: string }[] = [];
  const picture: Picture = { networks: new Map(), machines: new Map(), edges: [], impaired: [] };
  for (const line of lines.slice(4)) {
    let match: RegExpExecArray | null;
    if ((match = /^ {2}classDef ([A-Za-z]+) [a-z-]+:[^,\s]+( [^,\s]+)?(,[a-z-]+:[^,\s]+( [^,\s]+)?)*$/.exec(line))) {
      classes.add(match[1]!);
    } else if ((match = MERMAID_DECLARATION.exec(line))) {
      const [, id, open, label, close, kind] = match;
      assert.equal(close, CLOSERS[open!], `shape closed as opened: ${line}`);
      assert.ok(!declared.has(id!), `declared once: ${id}`);
      assert.ok(classes.has(kind!), `class ${kind} defined before use`);
      checkMermaidLabel(label!);
      const name = /^<b>([^<]*)<\/b>/.exec(label!)?.[1];
      assert.ok(name !== undefined, `a box starts with its name in bold: ${line}`);
      declared.set(id!, { name: decodeMermaid(name), kind: kind!, shape: open! });
    } else if ((match = MERMAID_EDGE.exec(line))) {
      const [, from, label, to] = match;
      assert.ok(declared.has(from!) && declared.has(to!), `edge between declared ids: ${line}`);
      checkMermaidLabel(label!);
      edges.push({ from: from!, to: to!, label: label! });
    } else if ((match = /^ {2}linkStyle ([\d,]+) \S.*$/.exec(line))) {
      for (const index of match[1]!.split(',').map(Number)) {
        const edge = edges[index];
        assert.ok(edge, `linkStyle ${index} names an edge`);
        const [machine, network] = machineAndNetwork(edge.from, edge.to);
        picture.impaired.push(`${machine} | ${network} | ${decodeMermaid(edge.label.split('<br/>')[1] ?? '')}`);
      }
    } else if ((match = /^ {2}class ([A-Za-z0-9_,]+) ([A-Za-z]+)$/.exec(line))) {
      assert.ok(classes.has(match[2]!), `class ${match[2]} defined`);
      for (const id of match[1]!.split(',')) assert.ok(declared.has(id), `class for a declared id: ${id}`);
    } else {
      assert.fail(`a line outside the expected grammar: ${JSON.stringify(line)}`);
    }
  }
  function machineAndNetwork(from: string, to: string): [string, string] {
    const a = declared.get(from)!;
    const b = declared.get(to)!;
    return a.kind.endsWith('Net') ? [b.name, a.name] : [a.name, b.name];
  }
  for (const { name, kind, shape } of declared.values()) {
    (kind.endsWith('Net') ? picture.networks : picture.machines).set(name, `${kind} ${shape}`);
  }
  picture.edges = edges.map(({ from, to, label }) => {
    const [machine, network] = machineAndNetwork(from, to);
    return `${machine} | ${network} | ${decodeMermaid(label.split('<br/>')[0]!)}`;
  });
  return picture;
}

function checkMermaidLabel(label: string) {
  const text = label.replace(MERMAID_MARKUP, '');
  assert.doesNotMatch(text, /[<>"|`]/, `no raw markup characters in ${label}`);
  assert.doesNotMatch(text.replace(/#(\w+);/g, ''), /#/, `"#" only in entity codes in ${label}`);
}

function decodeMermaid(text: string): string {
  const named: Record<string, string> = { quot: '"', lt: '<', gt: '>', amp: '&' };
  return text.replace(/#(\w+);/g, (_, code: string) => (/^\d+$/.test(code) ? String.fromCharCode(Number(code)) : named[code]!));
}

const DOT_STRING = String.raw`"((?:[^"\\]|\\.)*)"`;

/**
 * Reads the Graphviz output: node and edge statements with quoted ids, every
 * attribute list tokenized (quoted strings, HTML-like labels, plain words),
 * HTML-like labels well-formed, edges between declared nodes.
 */
function readDot(text: string): Picture {
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], 'graph yagura {');
  assert.equal(lines[lines.length - 1], '}');
  const declared = new Map<string, Map<string, string>>();
  const picture: Picture = { networks: new Map(), machines: new Map(), edges: [], impaired: [] };
  for (const line of lines.slice(1, -1)) {
    let match: RegExpExecArray | null;
    if ((match = /^ {2}(graph|node|edge) \[(.*)\];$/.exec(line))) {
      dotAttributes(match[2]!);
    } else if ((match = new RegExp(`^ {2}${DOT_STRING} \\[(.*)\\];$`).exec(line))) {
      const id = unquoteDot(match[1]!);
      assert.ok(!declared.has(id), `declared once: ${id}`);
      declared.set(id, dotAttributes(match[2]!));
    } else if ((match = new RegExp(`^ {2}${DOT_STRING} -- ${DOT_STRING} \\[(.*)\\];$`).exec(line))) {
      const [a, b] = [unquoteDot(match[1]!), unquoteDot(match[2]!)];
      assert.ok(declared.has(a) && declared.has(b), `edge between declared nodes: ${line}`);
      const attributes = dotAttributes(match[3]!);
      const [machine, network] = a.startsWith('network/') ? [b, a] : [a, b];
      const [caption, impairment] = attributes.get('label')!.split('\\n');
      const edge = `${machine.slice('machine/'.length)} | ${network.slice('network/'.length)}`;
      picture.edges.push(`${edge} | ${caption}`);
      if (impairment !== undefined) picture.impaired.push(`${edge} | ${impairment}`);
    } else {
      assert.fail(`a line outside the expected grammar: ${JSON.stringify(line)}`);
    }
  }
  for (const [id, attributes] of declared) {
    const look = `${attributes.get('shape')} ${attributes.get('style')}`;
    if (id.startsWith('network/')) picture.networks.set(id.slice('network/'.length), look);
    else picture.machines.set(id.slice('machine/'.length), look);
  }
  return picture;
}

function dotAttributes(list: string): Map<string, string> {
  const attributes = new Map<string, string>();
  let rest = list;
  while (rest !== '') {
    const key = /^([a-z]+)=/.exec(rest);
    assert.ok(key, `an attribute name at: ${rest}`);
    rest = rest.slice(key[0].length);
    let value: string;
    if (rest.startsWith('"')) {
      const quoted = new RegExp(`^${DOT_STRING}`).exec(rest);
      assert.ok(quoted, `a closed quoted string at: ${rest}`);
      value = unquoteDot(quoted[1]!);
      rest = rest.slice(quoted[0].length);
    } else if (rest.startsWith('<')) {
      let depth = 0;
      let end = 0;
      for (; end < rest.length; end++) {
        if (rest[end] === '<') depth++;
        if (rest[end] === '>' && --depth === 0) break;
      }
      value = rest.slice(1, end);
      assertWellFormedXml(`<label>${value}</label>`);
      rest = rest.slice(end + 1);
    } else {
      const word = /^[A-Za-z0-9.]+/.exec(rest);
      assert.ok(word, `a value at: ${rest}`);
      value = word[0];
      rest = rest.slice(word[0].length);
    }
    attributes.set(key[1]!, value);
    if (rest.startsWith(', ')) rest = rest.slice(2);
    else assert.equal(rest, '', 'attributes are separated by ", "');
  }
  return attributes;
}

function unquoteDot(text: string): string {
  return text.replace(/\\(["\\])/g, '$1');
}

/** Reads the HTML page: its boxes and link groups (which carry the names they join) and the visible link labels. */
function readHtml(text: string): Picture {
  assertWellFormedXml(text.replace(/^<!DOCTYPE html>\n/, ''));
  const picture: Picture = { networks: new Map(), machines: new Map(), edges: [], impaired: [] };
  for (const [, group, classes, name] of text.matchAll(/<g class="(network|machine) ([^"]*)" data-name="([^"]*)">/g)) {
    const box = group === 'network' ? picture.networks : picture.machines;
    assert.ok(!box.has(decodeXml(name!)), `drawn once: ${name}`);
    box.set(decodeXml(name!), classes!);
  }
  const links = [...text.matchAll(/<g class="(link(?: impaired)?)" data-machine="([^"]*)" data-network="([^"]*)">/g)];
  const labels = [...text.matchAll(/<g class="link-label[^"]*">[^]*?<\/g>/g)].map(([group]) =>
    [...group.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map(([, line]) => decodeXml(line!)),
  );
  assert.equal(links.length, labels.length, 'a label for every link');
  links.forEach(([, classes, machine, network], index) => {
    const edge = `${decodeXml(machine!)} | ${decodeXml(network!)}`;
    picture.edges.push(`${edge} | ${labels[index]![0]}`);
    if (classes === 'link impaired') picture.impaired.push(`${edge} | ${labels[index]!.at(-1)}`);
  });
  return picture;
}

function decodeXml(text: string): string {
  const named: Record<string, string> = { quot: '"', lt: '<', gt: '>', amp: '&', apos: "'" };
  return text.replace(/&(#?\w+);/g, (_, code: string) =>
    code.startsWith('#') ? String.fromCharCode(Number(code.slice(1))) : named[code]!,
  );
}

const READERS: Record<GraphFormat, (text: string) => Picture> = { mermaid: readMermaid, dot: readDot, html: readHtml };

/**
 * A strict XML well-formedness check of the kind xmllint does, for the parts
 * we produce: one root element, every tag closed in order, attributes quoted
 * and unique, no "<" in text or attribute values, "&" only in entity references.
 */
function assertWellFormedXml(text: string): void {
  const TOKEN = /<!--[^]*?-->|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_:][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<|[^<]+/g;
  const stack: string[] = [];
  let roots = 0;
  for (const [token, closing, name, attributes, selfClosing] of text.matchAll(TOKEN)) {
    if (token.startsWith('<!--')) continue;
    if (name === undefined) {
      assert.notEqual(token, '<', `a "<" that starts no tag near: ${JSON.stringify(text.slice(text.indexOf(token) - 40, 80))}`);
      assert.ok(stack.length > 0 || token.trim() === '', `text outside the root element: ${JSON.stringify(token.slice(0, 60))}`);
      checkReferences(token);
      continue;
    }
    if (closing) {
      assert.equal(attributes, '', `no attributes on a closing tag </${name}>`);
      assert.equal(stack.pop(), name, `</${name}> closes the element that is open`);
      continue;
    }
    if (stack.length === 0) roots++;
    const seen = new Set<string>();
    for (const [, attribute, value] of attributes!.matchAll(/([A-Za-z_:][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      assert.ok(!seen.has(attribute!), `attribute ${attribute} once on <${name}>`);
      seen.add(attribute!);
      assert.doesNotMatch(value ?? '', /</, `no "<" in attribute ${attribute}`);
      checkReferences(value ?? '');
    }
    if (!selfClosing) stack.push(name);
  }
  assert.deepEqual(stack, [], 'every element is closed');
  assert.equal(roots, 1, 'exactly one root element');
}

function checkReferences(text: string): void {
  for (const [reference] of text.matchAll(/&[^;\s]*;?/g))
    assert.match(reference, /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);$/, `a valid entity reference: ${reference}`);
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

describe('dc graph: what every format shows', () => {
  for (const [file, load] of Object.entries(EXAMPLES)) {
    for (const format of FORMATS) {
      it(`${format}: ${file}: every network, router and node appears exactly once, one edge per interface`, () => {
        const topology = load();
        const picture = READERS[format](renderGraph(topology, format));
        const names = resourceNames(topology);
        assert.deepEqual([...picture.networks.keys()].sort(), names.networks);
        assert.deepEqual([...picture.machines.keys()].sort(), names.machines);
        assert.deepEqual(picture.edges.sort(), expectedEdges(topology));
      });
    }
  }

  const KIND_LOOKS: Record<GraphFormat, Record<string, RegExp>> = {
    mermaid: {
      internal: /^internalNet \{\{$/,
      external: /^externalNet \[\/$/,
      bmc: /^bmcNet \[\\$/,
      router: /^router \(\[$/,
      netns: /^netnsNode \($/,
      vm: /^vmNode \[$/,
    },
    dot: {
      internal: /^hexagon filled$/,
      external: /^hexagon filled$/, // and peripheries=2, checked below
      bmc: /^hexagon filled,dashed$/,
      router: /^octagon filled,bold$/,
      netns: /^box filled,rounded$/,
      vm: /^box3d filled$/,
    },
    html: { internal: /^internal$/, external: /^external$/, bmc: /^bmc$/, router: /^router$/, netns: /^netns$/, vm: /^vm$/ },
  };
  for (const format of FORMATS) {
    it(`${format}: networks by type, routers, netns nodes and VMs each look their own way`, () => {
      const topology = EXAMPLES['multi-rack-*.yml']!();
      const origin = topology.nodes[0]!.origin;
      const interfaces = [{ index: 0, network: 'r0-node1', addresses: [] }];
      topology.nodes.push({ kind: 'Node', type: 'netns', name: 'extra', interfaces, apps: [], initScripts: [], origin });
      const picture = READERS[format](renderGraph(topology, format));
      for (const network of topology.networks)
        assert.match(picture.networks.get(network.name)!, KIND_LOOKS[format][network.type]!);
      for (const router of topology.networkNamespaces)
        assert.match(picture.machines.get(router.name)!, KIND_LOOKS[format].router!);
      for (const node of topology.nodes) assert.match(picture.machines.get(node.name)!, KIND_LOOKS[format][node.type]!);
      const looks = new Set(Object.values(KIND_LOOKS[format]).map(String));
      assert.equal(looks.size, format === 'dot' ? 5 : 6, 'the looks differ');
      if (format === 'dot') assert.match(renderGraph(topology, 'dot'), /"network\/internet" \[[^\n]*peripheries=2/);
    });
  }

  for (const format of FORMATS) {
    it(`${format}: netem impairments are on the impaired edges and nowhere else`, () => {
      const picture = READERS[format](renderGraph(EXAMPLES['example.yml']!(), format));
      assert.deepEqual(picture.impaired.sort(), [
        'rack0-cs1 | r0-node1 | delay 5ms ±1ms, loss 0.1%',
        'rack0-cs1 | r0-node2 | rate 100mbit',
      ]);
    });
  }

  it('impairments read as tc writes them, in every unit', () => {
    const topology = yaml(
      'kind: Network\nname: n',
      'kind: Node\ntype: netns\nname: a\ninterfaces:\n' +
        '  - {network: n, netem: {delay: 250us}}\n' +
        '  - {network: n, netem: {delay: 1.5s, jitter: 20ms, loss: 100%}}\n' +
        '  - {network: n, netem: {rate: 1.5gbit}}\n' +
        '  - {network: n, netem: {rate: 512kibit}}',
    );
    assert.deepEqual(
      graphModel(topology).links.map((link) => link.impairment),
      ['delay 250us', 'delay 1.5s ±20ms, loss 100%', 'rate 1.5gbit', 'rate 512kibit'],
    );
  });

  for (const format of FORMATS) {
    it(`${format}: VMs show CPUs, memory and their BMC address; namespaces their apps`, () => {
      const topology = yaml(
        'kind: Network\nname: bmc\ntype: bmc\naddress: 10.72.16.1/20',
        'kind: Network\nname: r0\n',
        'kind: NetworkNamespace\nname: tor\ninterfaces: [{network: r0, addresses: [10.69.0.1/26]}]\n' +
          'apps:\n  - {name: bird, command: [bird, -f]}\n  - {name: dnsmasq, command: [dnsmasq, -k]}',
        'kind: Node\nname: vm1\ninterfaces: [r0, bmc]\ncpu: 4\nmemory: 1536M\nbmc: {address: 10.72.16.5}',
        'kind: Node\nname: vm2\ninterfaces: [r0]\ncpu: 1\nmemory: 8G',
      );
      const rendered = renderGraph(topology, format);
      // What the html shows is its text without the markup (an app name is a span of its own).
      const text = format === 'html' ? decodeXml(rendered.replace(/<[^>]+>/g, '')) : rendered;
      assert.match(text, /4 CPUs, 1536 MiB/);
      assert.match(text, /BMC 10\.72\.16\.5/);
      assert.match(text, /1 CPU, 8 GiB/);
      assert.match(text, /apps: bird, dnsmasq/);
    });
  }

  for (const format of FORMATS) {
    it(`${format}: a status shows power and draws apps that are not running in red`, () => {
      const topology = EXAMPLES['example.yml']!();
      // The html legend explains "power off" and dead apps, so look at the drawing only.
      const drawing = (text: string) => (format === 'html' ? /<svg [^>]*class="topology"[^]*<\/svg>/.exec(text)![0] : text);
      const plain = drawing(renderGraph(topology, format));
      const status = new Map<string, MachineStatus>([
        ['rack0-boot', { power: 'off' }],
        ['rack0-cs2', { power: 'on' }],
        ['rack0-cs1', { apps: [{ name: 'web', running: false }] }],
        ['rack0-tor1', { apps: [{ name: 'bird', running: true }] }],
      ]);
      const text = renderGraph(topology, format, { status });
      for (const absent of [
        /power (on|off)/,
        /#cc0000'>web|COLOR="#cc0000">web|tone-dead">web/,
        /class [^\n]*powerOff|class="machine vm off"/,
      ])
        assert.doesNotMatch(plain, absent);
      assert.match(text, /power off/);
      assert.match(text, /power on/);
      const red = {
        mermaid: /<span style='color:#cc0000'>web ✗<\/span>/,
        dot: /<FONT COLOR="#cc0000">web ✗<\/FONT>/,
        html: /tone-dead">web ✗/,
      };
      assert.match(text, red[format]);
      assert.doesNotMatch(text, { mermaid: /#cc0000'>bird/, dot: /#cc0000">bird/, html: /tone-dead">bird/ }[format]);
      const off = {
        mermaid: /^ {2}class m_rack0_hboot powerOff$/m,
        dot: /"machine\/rack0-boot" \[[^\n]*fillcolor="#e5e7eb"/,
        html: /class="machine vm off" data-name="rack0-boot"/,
      };
      assert.match(text, off[format]);
      READERS[format](text);
    });
  }

  for (const [file, load] of Object.entries(EXAMPLES)) {
    it(`${file}: the same topology gives the same text`, () => {
      for (const format of FORMATS)
        assert.equal(renderGraph(load(), format, { title: 'dc1' }), renderGraph(load(), format, { title: 'dc1' }));
    });
  }
});

describe('dc graph: names and labels that need escaping', () => {
  const topology = () =>
    yaml(
      'kind: Network\nname: a.b-c_d\naddress: 10.0.0.1/24\ntype: external',
      'kind: Node\ntype: netns\nname: a.b-c_d\ninterfaces: [{network: a.b-c_d, addresses: [10.0.0.2/24]}]',
      'kind: Node\ntype: netns\nname: a-b.c_d\ninterfaces: [{network: a.b-c_d, addresses: [10.0.0.3/24]}]',
      'kind: Node\ntype: netns\nname: a_b_c_d\ninterfaces: [{network: a.b-c_d, addresses: [10.0.0.4/24]}]',
    );
  const TITLE = `dc <&"> 'one' # | \` \\ end`;
  const status = new Map<string, MachineStatus>([['a.b-c_d', { apps: [{ name: `x<&">y #1;|\\`, running: false }] }]]);

  for (const format of FORMATS) {
    it(`${format}: output stays valid and shows the text as written`, () => {
      const text = renderGraph(topology(), format, { title: TITLE, status });
      const picture = READERS[format](text);
      assert.deepEqual([...picture.machines.keys()].sort(), ['a-b.c_d', 'a.b-c_d', 'a_b_c_d']);
      assert.deepEqual([...picture.networks.keys()], ['a.b-c_d']);
      assert.equal(picture.edges.length, 3);
      // An explicit message: without one, assert.ok re-reads this file to describe the failure, which takes minutes here.
      const shows = (expected: string) => assert.ok(text.includes(expected), `the output has ${JSON.stringify(expected)}`);
      if (format === 'html') {
        shows(`<h1>dc &lt;&amp;&quot;&gt; &#39;one&#39; # | \` \\ end</h1>`);
        shows('x&lt;&amp;&quot;&gt;y #1;|\\ ✗');
      }
      if (format === 'mermaid') {
        assert.equal(JSON.parse(text.split('\n')[1]!.slice('title: '.length)), TITLE);
        shows('x#lt;#amp;#quot;#gt;y #35;1;#124;\\ ✗');
      }
      if (format === 'dot') {
        shows(String.raw`label="dc <&\"> 'one' # | ` + '` ' + String.raw`\\ end"`);
        shows('x&lt;&amp;&quot;&gt;y #1;|\\ ✗');
      }
    });
  }

  it(
    `html is well-formed XML by xmllint`,
    { skip: !existsSync(XMLLINT) && `${XMLLINT} is not installed (the test's own XML check ran above)` },
    () => {
      const text = renderGraph(topology(), 'html', { title: TITLE, status });
      const result = spawnSync(XMLLINT, ['--noout', '-'], { input: text.replace(/^<!DOCTYPE html>\n/, ''), encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
    },
  );

  it('dot: Graphviz draws it', { skip: !existsSync(DOT) && `${DOT} is not installed (graphviz): dot -Tsvg not run` }, () => {
    for (const load of [topology, ...Object.values(EXAMPLES)]) {
      const result = spawnSync(DOT, ['-Tsvg'], { input: renderGraph(load(), 'dot', { title: TITLE, status }), encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, '');
    }
  });
});

describe('dc graph: html page', () => {
  it('is self-contained: no scripts, fonts, images or links to fetch', () => {
    const text = renderGraph(EXAMPLES['multi-rack-*.yml']!(), 'html');
    assert.doesNotMatch(text, /<script|<link|<img|<iframe|\b(src|href)=|url\(|@import|@font-face/i);
    assert.deepEqual(
      [...new Set(text.match(/https?:\/\/[^"\s]+/g))],
      ['http://www.w3.org/2000/svg'],
      'the only URL is the SVG namespace, which is a name, not a fetch',
    );
  });

  it('has the title, a legend, and hover details', () => {
    const text = renderGraph(EXAMPLES['example.yml']!(), 'html', { title: 'dc1' });
    assert.match(text, /<title>dc1<\/title>/);
    assert.match(text, /<h1>dc1<\/h1>/);
    const legend = /<svg [^>]*class="legend"[^]*?<\/svg>/.exec(text)![0];
    for (const entry of [
      'internal network',
      'external network',
      'BMC network',
      'router',
      'netns node',
      'VM node',
      'netem',
      'power off',
      'not running',
    ])
      assert.ok(legend.includes(entry), entry);
    assert.match(text, /<title>rack0-cs1 eth0 10\.69\.0\.10\/26 → r0-node1, netem: delay 5ms ±1ms, loss 0\.1%<\/title>/);
    assert.match(text, /<title>rack0-tor1 \(router\)\napp bird: bird -f -c/);
  });

  it('lays 300 netns nodes out in rows that are no wider than a few', () => {
    const topology = manyNodes(300, 50);
    const text = renderGraph(topology, 'html');
    assert.equal(text.match(/<g class="machine netns" /g)?.length, 300);
    assert.equal(text.match(/<g class="link" /g)?.length, 300 + 6);
    assertWellFormedXml(text.replace(/^<!DOCTYPE html>\n/, ''));
    const width = Number(/class="topology" width="([\d.]+)"/.exec(text)![1]);
    const layout = layoutGraph(graphModel(manyNodes(MAX_COLUMNS)));
    assert.ok(width <= layout.width + 6 * 8, `300 nodes are ${width}px wide, ${MAX_COLUMNS} nodes ${layout.width}px`);
    for (const format of ['mermaid', 'dot'] as const)
      assert.equal(READERS[format](renderGraph(topology, format)).machines.size, 301);
  });
});

describe('dc graph: html layout', () => {
  const overlaps = (a: Rect, b: Rect) =>
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  const CASES: Record<string, () => Topology> = {
    ...EXAMPLES,
    '40 nodes on 3 networks behind one router': () => manyNodes(40, 14),
    'networks only': () => yaml('kind: Network\nname: a', 'kind: Network\nname: b'),
  };
  for (const [name, load] of Object.entries(CASES)) {
    it(`${name}: boxes do not overlap, no line crosses a machine, every line ends on its network's bar`, () => {
      const model = graphModel(load());
      const layout = layoutGraph(model);
      const boxes = [
        ...layout.networks.map((n) => ({ id: n.network.id, box: n.box })),
        ...layout.machines.map((m) => ({ id: m.machine.id, box: m.box })),
      ];
      assert.equal(boxes.length, model.networks.length + model.machines.length);
      for (const [i, a] of boxes.entries()) {
        assert.ok(
          a.box.x >= 0 && a.box.y >= 0 && a.box.x + a.box.width <= layout.width && a.box.y + a.box.height <= layout.height,
          `${a.id} inside the picture`,
        );
        for (const b of boxes.slice(i + 1)) assert.ok(!overlaps(a.box, b.box), `${a.id} and ${b.id} do not overlap`);
      }
      assert.equal(layout.links.length, model.links.length);
      for (const { link, port, junction } of layout.links) {
        assert.equal(port.x, junction.x, 'lines are vertical');
        const span: Rect = {
          x: port.x,
          y: Math.min(port.y, junction.y) + 0.5,
          width: 0.01,
          height: Math.abs(port.y - junction.y) - 1,
        };
        for (const other of layout.machines)
          assert.ok(!overlaps(span, other.box), `${link.machine} ${link.port} does not cross ${other.machine.id}`);
        const bar = layout.buses.find(
          (bus) => bus.network.id === link.network && bus.y === junction.y && bus.x1 <= junction.x && junction.x <= bus.x2,
        );
        assert.ok(bar, `${link.machine} ${link.port} ends on a bar of ${link.network}`);
      }
      // A bar away from its network's box is reached by the network's trunk.
      for (const bus of layout.buses) {
        const box = layout.networks.find((n) => n.network.id === bus.network.id)!.box;
        if (bus.y === box.y + box.height / 2 && bus.x1 === box.x + box.width) continue;
        const trunk = layout.trunks.find((t) => t.network.id === bus.network.id);
        assert.ok(
          trunk && trunk.x === bus.x1 && trunk.y1 <= bus.y && bus.y <= trunk.y2,
          `${bus.network.id} at y=${bus.y} joins its trunk`,
        );
        assert.equal(trunk.y1, box.y + box.height / 2, 'the trunk starts at the network box');
      }
    });
  }
});
