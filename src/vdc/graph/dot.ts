/**
 * The topology as a Graphviz graph (`dot -Tsvg`, `-Tpng`): routers in the left
 * rank, networks in the middle, nodes on the right. Ids are quoted strings;
 * box labels are Graphviz HTML-like labels (so a dead app can be red) with
 * every text XML-escaped; edge labels are quoted strings with `"` and `\`
 * escaped.
 */
import {
  appCaption,
  KIND_CAPTIONS,
  linkLabel,
  networkCaption,
  type GraphModel,
  type MachineBox,
  type NetworkBox,
} from './model.js';
import { escapeXml as escapeHtml, withoutControls } from './xml.js';

const FONT = 'Helvetica,Arial,sans-serif';

interface Look {
  shape: string;
  style: string[];
  fill: string;
  line: string;
  extra?: string;
}
const NETWORK_LOOKS: Record<NetworkBox['type'], Look> = {
  internal: { shape: 'hexagon', style: ['filled'], fill: '#dbeafe', line: '#1d4ed8' },
  external: { shape: 'hexagon', style: ['filled'], fill: '#dcfce7', line: '#15803d', extra: 'peripheries=2' },
  bmc: { shape: 'hexagon', style: ['filled', 'dashed'], fill: '#ffedd5', line: '#c2410c' },
};
const MACHINE_LOOKS: Record<MachineBox['kind'], Look> = {
  router: { shape: 'octagon', style: ['filled', 'bold'], fill: '#fef3c7', line: '#b45309' },
  netns: { shape: 'box', style: ['filled', 'rounded'], fill: '#f1f5f9', line: '#475569' },
  vm: { shape: 'box3d', style: ['filled'], fill: '#ede9fe', line: '#6d28d9' },
};
/** A machine that is off is greyed out and dashed, whatever its kind. */
const POWER_OFF = { fill: '#e5e7eb', text: '#6b7280' };
const IMPAIRED = 'style=dashed, color="#d97706", fontcolor="#b45309", penwidth=2';
const DEAD_COLOR = '#cc0000';

export function renderDot(model: GraphModel): string {
  const lines = [
    'graph yagura {',
    `  graph [rankdir=LR, ranksep=1.2, nodesep=0.25, labelloc=t, fontname="${FONT}", fontsize=16, label="${escapeString(model.title)}"];`,
    `  node [fontname="${FONT}", fontsize=10];`,
    `  edge [fontname="${FONT}", fontsize=9, color="#334155"];`,
  ];
  // Readable ids (Graphviz shows them on hover in its SVG); networks and machines may share a name, hence the prefix.
  const ids = new Map([
    ...model.networks.map((network) => [network.id, escapeString(`network/${network.name}`)] as const),
    ...model.machines.map((machine) => [machine.id, escapeString(`machine/${machine.name}`)] as const),
  ]);
  for (const network of model.networks) {
    const label = `<B>${escapeHtml(network.name)}</B><BR/>${escapeHtml(networkCaption(network))}`;
    lines.push(`  "${ids.get(network.id)}" [${attributes(NETWORK_LOOKS[network.type])}, label=<${label}>];`);
  }
  for (const machine of model.machines) {
    lines.push(
      `  "${ids.get(machine.id)}" [${attributes(MACHINE_LOOKS[machine.kind], machine.power === 'off')}, label=<${machineLabel(machine)}>];`,
    );
  }
  const kinds = new Map(model.machines.map((machine) => [machine.id, machine.kind]));
  for (const link of model.links) {
    const label = linkLabel(link).map(escapeString).join('\\n');
    // dot ranks an edge's tail before its head: routers → networks → nodes.
    const [tail, head] = kinds.get(link.machine) === 'router' ? [link.machine, link.network] : [link.network, link.machine];
    const style = link.impairment === undefined ? '' : `, ${IMPAIRED}`;
    lines.push(`  "${ids.get(tail)}" -- "${ids.get(head)}" [label="${label}"${style}];`);
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

function attributes(look: Look, off = false): string {
  const style = off ? [...look.style, 'dashed'] : look.style;
  return [
    `shape=${look.shape}`,
    `style="${[...new Set(style)].join(',')}"`,
    `fillcolor="${off ? POWER_OFF.fill : look.fill}"`,
    `color="${look.line}"`,
    ...(off ? [`fontcolor="${POWER_OFF.text}"`] : []),
    ...(look.extra === undefined ? [] : [look.extra]),
  ].join(', ');
}

function machineLabel(machine: MachineBox): string {
  const rows = [`<B>${escapeHtml(machine.name)}</B>`, escapeHtml(KIND_CAPTIONS[machine.kind]), ...machine.facts.map(escapeHtml)];
  if (machine.power !== undefined) rows.push(`power ${machine.power}`);
  if (machine.apps.length > 0) {
    const apps = machine.apps.map((app) =>
      app.running === false ? `<FONT COLOR="${DEAD_COLOR}">${escapeHtml(appCaption(app))}</FONT>` : escapeHtml(appCaption(app)),
    );
    rows.push(`apps: ${apps.join(', ')}`);
  }
  return rows.join('<BR/>');
}

/** Inside a DOT quoted string: `"` must be escaped, and `\` too, or labels would read it as an escape (\n, \N). */
function escapeString(text: string): string {
  return withoutControls(text).replace(/[\\"]/g, (char) => `\\${char}`);
}
