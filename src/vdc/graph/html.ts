/**
 * The topology as one self-contained HTML page: an inline SVG bus diagram
 * (layout.ts) with a legend, styled by an inline stylesheet, with no scripts,
 * fonts or anything else fetched. Hovering a box, a line or a label shows its
 * details (SVG <title>). The page is also well-formed XML, so it can be
 * checked with an XML parser and the SVG cut out and used on its own.
 */
import { layoutGraph, LINE_HEIGHT, BOX_LINE_HEIGHT, type Layout, type PlacedMachine } from './layout.js';
import { KIND_CAPTIONS, linkCaption, networkCaption, type GraphModel, type Link, type MachineBox } from './model.js';
import { escapeXml as x } from './xml.js';

const STYLE = `
body { margin: 16px; color: #0f172a; background: #fff; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 20px; margin: 0 0 4px; }
.summary { margin: 0 0 8px; color: #475569; font-size: 13px; }
.scroll { overflow: auto; border: 1px solid #e2e8f0; border-radius: 4px; }
svg text { font-family: inherit; font-size: 11px; fill: #0f172a; }
.bus, .trunk { fill: none; stroke-linecap: round; }
.bus { stroke-width: 5; }
.trunk { stroke-width: 3; }
.bus.internal, .trunk.internal, .network.internal rect, .legend-network.internal rect { stroke: #1d4ed8; }
.bus.external, .trunk.external, .network.external rect, .legend-network.external rect { stroke: #15803d; }
.bus.bmc, .trunk.bmc, .network.bmc rect, .legend-network.bmc rect { stroke: #c2410c; }
.join { fill: #334155; }
.network rect, .legend-network rect { stroke-width: 1.5; }
.network.internal rect, .legend-network.internal rect { fill: #dbeafe; }
.network.external rect, .legend-network.external rect { fill: #dcfce7; }
.network.bmc rect, .legend-network.bmc rect { fill: #ffedd5; stroke-dasharray: 4 2; }
.machine rect, .legend-machine rect { stroke-width: 1.5; }
.router rect { fill: #fef3c7; stroke: #b45309; stroke-width: 2.5; }
.netns rect { fill: #f1f5f9; stroke: #475569; }
.vm rect { fill: #ede9fe; stroke: #6d28d9; }
.machine.off rect, .legend-machine.off rect { fill: #e5e7eb; stroke: #6b7280; stroke-dasharray: 5 3; }
.machine.off text { fill: #6b7280; }
.link line { stroke: #334155; stroke-width: 1.5; }
.link circle { fill: #334155; }
.link.impaired line, .legend-impaired { stroke: #d97706; stroke-width: 2; stroke-dasharray: 6 3; }
.link.impaired circle { fill: #d97706; }
.link-label text { font-size: 10px; fill: #334155; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.link-label .impairment { fill: #b45309; }
.leader { stroke: #94a3b8; stroke-width: 1; stroke-dasharray: 1 2; }
.tone-name { font-weight: 700; font-size: 12px; }
.tone-on { fill: #15803d; }
.tone-off { fill: #6b7280; }
.tone-dead { fill: #cc0000; font-weight: 700; }
g.network:hover rect, g.machine:hover rect { stroke-width: 3; }
g.link:hover line { stroke-width: 4; }
`;

export function renderHtml(model: GraphModel): string {
  const layout = layoutGraph(model);
  const title = x(model.title);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8" />',
    '<meta name="viewport" content="width=device-width, initial-scale=1" />',
    `<title>${title}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${title}</h1>`,
    `<p class="summary">${x(summary(model))}</p>`,
    legend(),
    '<div class="scroll">',
    topologySvg(model, layout),
    '</div>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function summary(model: GraphModel): string {
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const kinds = (kind: MachineBox['kind']) => model.machines.filter((machine) => machine.kind === kind).length;
  return [
    count(model.networks.length, 'network'),
    count(kinds('router'), 'router'),
    count(kinds('netns'), 'netns node'),
    count(kinds('vm'), 'VM'),
    count(model.links.length, 'interface'),
  ].join(', ');
}

function topologySvg(model: GraphModel, layout: Layout): string {
  const names = new Map([...model.networks, ...model.machines].map((item) => [item.id, item.name]));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="topology" width="${n(layout.width)}" height="${n(layout.height)}" viewBox="0 0 ${n(layout.width)} ${n(layout.height)}" role="img" aria-label="${x(model.title)}">`,
    '<g class="buses">',
  ];
  for (const trunk of layout.trunks) {
    out.push(
      `<line class="trunk ${trunk.network.type}" x1="${n(trunk.x)}" y1="${n(trunk.y1)}" x2="${n(trunk.x)}" y2="${n(trunk.y2)}" />`,
    );
    for (const join of trunk.joins) out.push(`<circle class="join" cx="${n(join.x)}" cy="${n(join.y)}" r="3" />`);
  }
  for (const bus of layout.buses)
    out.push(`<line class="bus ${bus.network.type}" x1="${n(bus.x1)}" y1="${n(bus.y)}" x2="${n(bus.x2)}" y2="${n(bus.y)}" />`);
  out.push('</g>', '<g class="links">');
  for (const placed of layout.links) {
    const { link, port, junction } = placed;
    out.push(
      `<g class="${linkClass(link)}" data-machine="${x(names.get(link.machine)!)}" data-network="${x(names.get(link.network)!)}">`,
      `<title>${x(linkDetails(link, names))}</title>`,
      `<line x1="${n(port.x)}" y1="${n(port.y)}" x2="${n(junction.x)}" y2="${n(junction.y)}" />`,
      `<circle cx="${n(junction.x)}" cy="${n(junction.y)}" r="3.5" />`,
      '</g>',
    );
  }
  out.push('</g>', '<g class="networks">');
  for (const { network, box } of layout.networks) {
    const details = [`${network.name}: ${networkCaption(network)} network`];
    const attached = model.links.filter((link) => link.network === network.id);
    details.push(
      attached.length === 0
        ? 'nothing attached'
        : `${attached.length} attached: ${attached.map((l) => `${names.get(l.machine)} ${l.port}`).join(', ')}`,
    );
    out.push(
      `<g class="network ${network.type}" data-name="${x(network.name)}">`,
      `<title>${x(details.join('\n'))}</title>`,
      `<rect x="${n(box.x)}" y="${n(box.y)}" width="${n(box.width)}" height="${n(box.height)}" rx="3" />`,
      network.type === 'external'
        ? `<rect x="${n(box.x + 3)}" y="${n(box.y + 3)}" width="${n(box.width - 6)}" height="${n(box.height - 6)}" rx="2" />`
        : '',
      `<text x="${n(box.x + 8)}" y="${n(box.y + 15)}"><tspan class="tone-name">${x(network.name)}</tspan>`,
      `<tspan x="${n(box.x + 8)}" dy="${LINE_HEIGHT}">${x(networkCaption(network))}</tspan></text>`,
      '</g>',
    );
  }
  out.push('</g>', '<g class="machines">');
  for (const placed of layout.machines) out.push(machineBox(placed, model.links, names));
  out.push('</g>', '<g class="link-labels">');
  for (const placed of layout.links) {
    const { link, port, label, labelLines } = placed;
    const leaderY = label.y - 3.5;
    out.push(
      `<g class="link-label${link.impairment === undefined ? '' : ' impaired'}">`,
      `<title>${x(linkDetails(link, names))}</title>`,
      `<line class="leader" x1="${n(port.x)}" y1="${n(leaderY)}" x2="${n(label.x - 3)}" y2="${n(leaderY)}" />`,
      `<text x="${n(label.x)}" y="${n(label.y)}" xml:space="preserve">`,
      ...labelLines.map((line, index) => {
        const impairment = link.impairment !== undefined && index === labelLines.length - 1;
        return `<tspan${impairment ? ' class="impairment"' : ''} x="${n(label.x)}" dy="${index === 0 ? 0 : LINE_HEIGHT}">${x(line)}</tspan>`;
      }),
      '</text>',
      '</g>',
    );
  }
  out.push('</g>', '</svg>');
  return out.filter((line) => line !== '').join('\n');
}

function linkClass(link: Link): string {
  return link.impairment === undefined ? 'link' : 'link impaired';
}

function linkDetails(link: Link, names: Map<string, string>): string {
  return `${names.get(link.machine)} ${interfaceDetails(link, names)}`;
}

function interfaceDetails(link: Link, names: Map<string, string>): string {
  const what = `${linkCaption(link)} → ${names.get(link.network)}`;
  return link.impairment === undefined ? what : `${what}, netem: ${link.impairment}`;
}

function machineBox({ machine, box, lines }: PlacedMachine, links: Link[], names: Map<string, string>): string {
  const classes = ['machine', machine.kind, ...(machine.power === 'off' ? ['off'] : [])].join(' ');
  const radius = machine.kind === 'router' ? 14 : machine.kind === 'netns' ? 6 : 1;
  const out = [
    `<g class="${classes}" data-name="${x(machine.name)}">`,
    `<title>${x(machineDetails(machine, links, names))}</title>`,
  ];
  // A VM gets a second outline behind it, Graphviz's box3d: a machine, not a process.
  if (machine.kind === 'vm')
    out.push(`<rect x="${n(box.x + 4)}" y="${n(box.y - 4)}" width="${n(box.width)}" height="${n(box.height)}" rx="${radius}" />`);
  out.push(`<rect x="${n(box.x)}" y="${n(box.y)}" width="${n(box.width)}" height="${n(box.height)}" rx="${radius}" />`);
  out.push(`<text x="${n(box.x + 8)}" y="${n(box.y + 8 + 11)}" xml:space="preserve">`);
  lines.forEach((spans, index) => {
    const parts = spans.map((span) => `<tspan class="tone-${span.tone}">${x(span.text)}</tspan>`).join('');
    out.push(`<tspan x="${n(box.x + 8)}" dy="${index === 0 ? 0 : BOX_LINE_HEIGHT}">${parts}</tspan>`);
  });
  out.push('</text>', '</g>');
  return out.join('\n');
}

function machineDetails(machine: MachineBox, links: Link[], names: Map<string, string>): string {
  const lines = [`${machine.name} (${KIND_CAPTIONS[machine.kind]})`, ...machine.facts];
  if (machine.power !== undefined) lines.push(`power ${machine.power}`);
  for (const app of machine.apps) {
    const state = app.running === undefined ? '' : app.running ? ' [running]' : ' [NOT RUNNING]';
    lines.push(`app ${app.name}${state}${app.command === undefined ? '' : `: ${app.command}`}`);
  }
  for (const link of links.filter((candidate) => candidate.machine === machine.id)) lines.push(interfaceDetails(link, names));
  return lines.join('\n');
}

/** The key to the picture, drawn with the same classes as the picture itself. */
function legend(): string {
  const item = (dx: number, shape: string, caption: string) =>
    `<g transform="translate(${dx} 0)">${shape}<text x="34" y="19">${x(caption)}</text></g>`;
  const box = (group: string, extra = '', radius = 3) =>
    `<g class="${group}"><rect x="0" y="8" width="28" height="16" rx="${radius}" />${extra}</g>`;
  const items = [
    item(0, box('legend-network internal'), 'internal network'),
    item(130, box('legend-network external', '<rect x="2" y="10" width="24" height="12" rx="2" />'), 'external network'),
    item(264, box('legend-network bmc'), 'BMC network'),
    item(380, box('legend-machine router', '', 8), 'router (NetworkNamespace)'),
    item(570, box('legend-machine netns', '', 5), 'netns node'),
    item(668, box('legend-machine vm', '', 1), 'VM node'),
    item(752, '<line class="legend-impaired" x1="0" y1="16" x2="28" y2="16" />', 'link with netem impairment'),
    item(946, box('legend-machine off'), 'power off'),
    item(1032, '<text x="0" y="19" class="tone-dead">app ✗</text>', 'app not running'),
  ];
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" class="legend" width="1160" height="32" viewBox="0 0 1160 32" role="img" aria-label="legend">',
    ...items,
    '</svg>',
  ].join('\n');
}

/** Coordinates with at most one decimal: short, and the same text every time. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}
