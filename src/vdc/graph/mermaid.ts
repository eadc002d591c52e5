/**
 * The topology as a Mermaid flowchart, for Markdown (GitHub, GitLab, docs):
 * routers on the left, networks in the middle, nodes on the right. Ids are the
 * model's (letters, digits, "_"); every label is quoted and its special
 * characters written as Mermaid entity codes (#lt; #quot; #35; …), so no name
 * or status text can change the diagram's structure.
 *
 * Mermaid refuses diagrams with more than 500 edges by default (its maxEdges
 * setting, which a diagram cannot raise); use dot or html for bigger data centers.
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
import { withoutControls } from './xml.js';

const NETWORK_SHAPES: Record<NetworkBox['type'], [string, string]> = {
  internal: ['{{', '}}'], // hexagon
  external: ['[/', '/]'], // parallelogram
  bmc: ['[\\', '\\]'], // the other parallelogram
};
const MACHINE_SHAPES: Record<MachineBox['kind'], [string, string]> = {
  router: ['([', '])'], // stadium
  netns: ['(', ')'], // rounded rectangle
  vm: ['[', ']'], // rectangle
};
const NETWORK_CLASSES: Record<NetworkBox['type'], string> = { internal: 'internalNet', external: 'externalNet', bmc: 'bmcNet' };
const MACHINE_CLASSES: Record<MachineBox['kind'], string> = { router: 'router', netns: 'netnsNode', vm: 'vmNode' };

/** Later definitions win, so the status classes come after the kinds they decorate. */
const CLASS_DEFS = [
  'classDef internalNet fill:#dbeafe,stroke:#1d4ed8,color:#0f172a',
  'classDef externalNet fill:#dcfce7,stroke:#15803d,color:#0f172a',
  'classDef bmcNet fill:#ffedd5,stroke:#c2410c,color:#0f172a,stroke-dasharray:4 2',
  'classDef router fill:#fef3c7,stroke:#b45309,color:#0f172a,stroke-width:2px',
  'classDef netnsNode fill:#f1f5f9,stroke:#475569,color:#0f172a',
  'classDef vmNode fill:#ede9fe,stroke:#6d28d9,color:#0f172a',
  'classDef deadApp stroke:#cc0000,stroke-width:3px',
  'classDef powerOff fill:#e5e7eb,stroke:#6b7280,color:#6b7280,stroke-dasharray:5 3',
];
const IMPAIRED_LINK_STYLE = 'stroke:#d97706,stroke-width:2px,stroke-dasharray:6 3';
const DEAD = "<span style='color:#cc0000'>";

export function renderMermaid(model: GraphModel): string {
  const lines = ['---', `title: ${JSON.stringify(model.title)}`, '---', 'graph LR'];
  lines.push(...CLASS_DEFS.map((line) => `  ${line}`));
  for (const network of model.networks) {
    const [open, close] = NETWORK_SHAPES[network.type];
    const label = [`<b>${escapeLabel(network.name)}</b>`, escapeLabel(networkCaption(network))];
    lines.push(`  ${network.id}${open}"${label.join('<br/>')}"${close}:::${NETWORK_CLASSES[network.type]}`);
  }
  for (const machine of model.machines) {
    const [open, close] = MACHINE_SHAPES[machine.kind];
    lines.push(`  ${machine.id}${open}"${machineLabel(machine).join('<br/>')}"${close}:::${MACHINE_CLASSES[machine.kind]}`);
  }
  const kinds = new Map(model.machines.map((machine) => [machine.id, machine.kind]));
  const impaired: number[] = [];
  model.links.forEach((link, index) => {
    const label = linkLabel(link).map(escapeLabel).join('<br/>');
    // Routers link into networks and networks into nodes, so the layout reads router → network → node.
    const [from, to] = kinds.get(link.machine) === 'router' ? [link.machine, link.network] : [link.network, link.machine];
    lines.push(`  ${from} ---|"${label}"| ${to}`);
    if (link.impairment !== undefined) impaired.push(index);
  });
  if (impaired.length > 0) lines.push(`  linkStyle ${impaired.join(',')} ${IMPAIRED_LINK_STYLE}`);
  const withDeadApps = model.machines.filter((machine) => machine.apps.some((app) => app.running === false));
  if (withDeadApps.length > 0) lines.push(`  class ${withDeadApps.map((machine) => machine.id).join(',')} deadApp`);
  const off = model.machines.filter((machine) => machine.power === 'off');
  if (off.length > 0) lines.push(`  class ${off.map((machine) => machine.id).join(',')} powerOff`);
  return lines.join('\n') + '\n';
}

function machineLabel(machine: MachineBox): string[] {
  const label = [
    `<b>${escapeLabel(machine.name)}</b>`,
    escapeLabel(KIND_CAPTIONS[machine.kind]),
    ...machine.facts.map(escapeLabel),
  ];
  if (machine.power !== undefined) label.push(`power ${machine.power}`);
  if (machine.apps.length > 0) {
    const apps = machine.apps.map((app) =>
      app.running === false ? `${DEAD}${escapeLabel(appCaption(app))}</span>` : escapeLabel(appCaption(app)),
    );
    label.push(`apps: ${apps.join(', ')}`);
  }
  return label;
}

const ENTITIES: Record<string, string> = {
  '#': '#35;',
  '"': '#quot;',
  '<': '#lt;',
  '>': '#gt;',
  '&': '#amp;',
  '|': '#124;',
  '`': '#96;',
};

/** Text for inside a quoted Mermaid label: entity codes for the characters Mermaid or HTML would read, no line breaks. */
export function escapeLabel(text: string): string {
  return withoutControls(text).replace(/[#"<>&|`]/g, (char) => ENTITIES[char]!);
}
