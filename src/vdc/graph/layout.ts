/**
 * Where everything goes in the HTML picture: a bus diagram as network
 * engineers draw one. Routers sit in a row at the top, the networks run as
 * horizontal bus bars below them, and the nodes hang below the buses. Each
 * machine drops one vertical line per interface to its network's bar.
 *
 * Big data centers wrap into rows of at most MAX_COLUMNS machines. A line must
 * never pass through another machine, so every row of machines gets its own
 * channel of bus bars next to it, and a network's bars in different channels
 * are joined by a vertical trunk on the left, next to the network's box. The
 * first channel holds every network (that is where the network boxes are);
 * later channels only the networks their row uses.
 *
 * Pure geometry: text widths are estimated from character counts, generously,
 * so that text stays inside its box in ordinary sans-serif fonts; whatever is
 * cut off with "…" is in full in the hover details.
 */
import { appCaption, KIND_CAPTIONS, type GraphModel, type Link, type MachineBox, type NetworkBox } from './model.js';

export interface Point {
  x: number;
  y: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A run of text in one style: name (bold), plain, on/off (power), dead (an app that is not running). */
export interface Span {
  text: string;
  tone: 'name' | 'plain' | 'on' | 'off' | 'dead';
}

export interface PlacedNetwork {
  network: NetworkBox;
  box: Rect;
}

export interface PlacedMachine {
  machine: MachineBox;
  box: Rect;
  /** Text lines inside the box, each a list of spans; the first line is the name. */
  lines: Span[][];
}

export interface PlacedLink {
  link: Link;
  /** Where the line leaves the machine. */
  port: Point;
  /** Where it meets the network's bus bar. */
  junction: Point;
  /** The first label line's left end and baseline; further lines follow LINE_HEIGHT apart. */
  label: Point;
  labelLines: string[];
}

/** A horizontal bus bar of a network in one channel. */
export interface Bus {
  network: NetworkBox;
  y: number;
  x1: number;
  x2: number;
}

/** The vertical line that joins a network's bus bars across channels. */
export interface Trunk {
  network: NetworkBox;
  x: number;
  y1: number;
  y2: number;
  /** Where the trunk meets a bar (not counting the first, at the network box). */
  joins: Point[];
}

export interface Layout {
  width: number;
  height: number;
  networks: PlacedNetwork[];
  machines: PlacedMachine[];
  links: PlacedLink[];
  buses: Bus[];
  trunks: Trunk[];
}

export const MAX_COLUMNS = 6;
export const LINE_HEIGHT = 13;
export const BOX_LINE_HEIGHT = 15;

const MARGIN = 16;
const NETWORK_BOX = { width: 190, height: 36 };
const MACHINE_WIDTH = 210;
const MACHINE_GAP = 56;
const MACHINE_PITCH = MACHINE_WIDTH + MACHINE_GAP;
const BOX_PADDING = 8;
const PORT_INSET = 16;
const PORT_PITCH = 16;
const TRUNK_GAP = 14;
const TRUNK_PITCH = 8;
/** The first channel's lanes hold the network boxes, so they are a box apart. */
const FIRST_LANE_PITCH = NETWORK_BOX.height + 8;
const LANE_PITCH = 18;
const CHANNEL_PADDING = 14;
const LABEL_PADDING = 6;
const ROW_GAP = 24;
/** Estimated widths of one character, in px, for the font sizes html.ts uses. */
const CHAR_WIDTH = { name: 7.4, text: 6.4, label: 6.0 };

export function layoutGraph(model: GraphModel): Layout {
  const routers = model.machines.filter((machine) => machine.kind === 'router');
  const nodes = model.machines.filter((machine) => machine.kind !== 'router');
  const columns = Math.max(1, Math.min(MAX_COLUMNS, Math.max(routers.length, nodes.length)));
  const linksOf = groupLinks(model);

  // Structure first: which rows attach to which channel, and so which networks each channel carries.
  interface Channel {
    above?: MachineBox[];
    below?: MachineBox[];
    lanes: Map<string, number>;
  }
  const channels: Channel[] = chunk(routers, columns).map((row) => ({ above: row, lanes: new Map() }));
  chunk(nodes, columns).forEach((row, index) => {
    if (index === 0 && channels.length > 0) channels[channels.length - 1]!.below = row;
    else channels.push({ below: row, lanes: new Map() });
  });
  if (channels.length === 0) channels.push({ lanes: new Map() });
  const carried = channels.map((channel, index) => {
    if (index === 0) return model.networks;
    const used = new Set(
      [...(channel.above ?? []), ...(channel.below ?? [])].flatMap((m) => linksOf.get(m.id)!.map((l) => l.network)),
    );
    return model.networks.filter((network) => used.has(network.id));
  });
  const lastChannel = new Map<string, number>();
  carried.forEach((networks, index) => networks.forEach((network) => lastChannel.set(network.id, index)));
  const trunked = model.networks.filter((network) => lastChannel.get(network.id)! > 0);
  const trunkX = new Map(
    trunked.map((network, index) => [network.id, MARGIN + NETWORK_BOX.width + TRUNK_GAP + index * TRUNK_PITCH]),
  );
  const machinesX = MARGIN + NETWORK_BOX.width + TRUNK_GAP + trunked.length * TRUNK_PITCH + TRUNK_GAP;

  // Then geometry, top to bottom.
  const placed: PlacedMachine[] = [];
  const links: PlacedLink[] = [];
  const pending: { machine: PlacedMachine; facing: 'up' | 'down'; channel: number; zoneTop: number }[] = [];
  const channelOfLink: number[] = [];
  let y = MARGIN;
  channels.forEach((channel, index) => {
    if (index > 0) y += ROW_GAP;
    if (channel.above) {
      const row = channel.above.map((machine, column) => boxFor(machine, machinesX + column * MACHINE_PITCH));
      const rowHeight = Math.max(...row.map((machine) => machine.box.height));
      for (const machine of row) {
        machine.box.y = y + rowHeight - machine.box.height; // bottom-aligned: the lines leave from the bottom
        placed.push(machine);
      }
      y += rowHeight;
      for (const machine of row) pending.push({ machine, facing: 'down', channel: index, zoneTop: y });
      y += zoneHeight(row, linksOf);
    }
    const pitch = index === 0 ? FIRST_LANE_PITCH : LANE_PITCH;
    y += CHANNEL_PADDING + (index === 0 ? NETWORK_BOX.height / 2 : 0);
    carried[index]!.forEach((network, lane) => channel.lanes.set(network.id, y + lane * pitch));
    y += Math.max(0, carried[index]!.length - 1) * pitch + CHANNEL_PADDING + (index === 0 ? NETWORK_BOX.height / 2 : 0);
    if (channel.below) {
      const row = channel.below.map((machine, column) => boxFor(machine, machinesX + column * MACHINE_PITCH));
      const zoneTop = y;
      y += zoneHeight(row, linksOf);
      for (const machine of row) {
        machine.box.y = y; // top-aligned: the lines leave from the top
        placed.push(machine);
        pending.push({ machine, facing: 'up', channel: index, zoneTop });
      }
      y += Math.max(...row.map((machine) => machine.box.height));
    }
  });

  for (const { machine, facing, channel, zoneTop } of pending) {
    const own = linksOf.get(machine.machine.id)!;
    const portPitch = Math.min(PORT_PITCH, (MACHINE_WIDTH - 2 * PORT_INSET) / Math.max(1, own.length));
    const labelX = machine.box.x + PORT_INSET + Math.max(0, own.length - 1) * portPitch + 8;
    const labelWidth = machine.box.x + MACHINE_WIDTH + MACHINE_GAP - 6 - labelX;
    let line = 0;
    own.forEach((link, index) => {
      const x = machine.box.x + PORT_INSET + index * portPitch;
      const labelLines = linkLabelLines(link).map((text) => fit(text, labelWidth, CHAR_WIDTH.label));
      links.push({
        link,
        port: { x, y: facing === 'down' ? machine.box.y + machine.box.height : machine.box.y },
        junction: { x, y: channels[channel]!.lanes.get(link.network)! },
        label: { x: labelX, y: zoneTop + LABEL_PADDING + (line + 1) * LINE_HEIGHT - 3 },
        labelLines,
      });
      channelOfLink.push(channel);
      line += labelLines.length;
    });
  }

  const laneOf = (network: string, channel: number) => channels[channel]!.lanes.get(network);
  const networks: PlacedNetwork[] = model.networks.map((network) => ({
    network,
    box: { x: MARGIN, y: laneOf(network.id, 0)! - NETWORK_BOX.height / 2, ...NETWORK_BOX },
  }));
  const buses: Bus[] = [];
  channels.forEach((channel, index) => {
    for (const network of carried[index]!) {
      const y = channel.lanes.get(network.id)!;
      const xs = links
        .filter((link, i) => channelOfLink[i] === index && link.link.network === network.id)
        .map((link) => link.junction.x);
      const trunk = trunkX.get(network.id);
      if (trunk !== undefined) xs.push(trunk);
      if (xs.length === 0) continue; // a network nothing is attached to: its box alone
      buses.push({ network, y, x1: index === 0 ? MARGIN + NETWORK_BOX.width : trunk!, x2: Math.max(...xs) });
    }
  });
  const trunks: Trunk[] = trunked.map((network) => {
    const joins = channels
      .map((_, index) => laneOf(network.id, index))
      .slice(1)
      .filter((y) => y !== undefined)
      .map((y) => ({ x: trunkX.get(network.id)!, y }));
    return { network, x: trunkX.get(network.id)!, y1: laneOf(network.id, 0)!, y2: joins[joins.length - 1]!.y, joins };
  });

  return {
    width: machinesX + columns * MACHINE_PITCH + MARGIN,
    height: y + MARGIN,
    networks,
    machines: placed,
    links,
    buses,
    trunks,
  };
}

/** A link's label: port and first address, further addresses one a line, then the impairment. */
export function linkLabelLines(link: Link): string[] {
  const [first, ...rest] = link.addresses;
  return [
    first === undefined ? link.port : `${link.port} ${first}`,
    ...rest.map((address) => `${' '.repeat(link.port.length)} ${address}`),
    ...(link.impairment === undefined ? [] : [link.impairment]),
  ];
}

function groupLinks(model: GraphModel): Map<string, Link[]> {
  const byMachine = new Map(model.machines.map((machine) => [machine.id, [] as Link[]]));
  for (const link of model.links) byMachine.get(link.machine)!.push(link);
  return byMachine;
}

function zoneHeight(row: PlacedMachine[], linksOf: Map<string, Link[]>): number {
  const lines = row.map((machine) =>
    linksOf.get(machine.machine.id)!.reduce((sum, link) => sum + linkLabelLines(link).length, 0),
  );
  return Math.max(...lines, 1) * LINE_HEIGHT + 2 * LABEL_PADDING;
}

function boxFor(machine: MachineBox, x: number): PlacedMachine {
  const inner = MACHINE_WIDTH - 2 * BOX_PADDING;
  const lines: Span[][] = [
    [{ text: fit(machine.name, inner, CHAR_WIDTH.name), tone: 'name' }],
    [
      {
        text: fit([KIND_CAPTIONS[machine.kind], ...machine.facts.slice(0, 1)].join(' · '), inner, CHAR_WIDTH.text),
        tone: 'plain',
      },
    ],
    ...machine.facts.slice(1).map((fact): Span[] => [{ text: fit(fact, inner, CHAR_WIDTH.text), tone: 'plain' }]),
  ];
  if (machine.power !== undefined) lines.push([{ text: `● power ${machine.power}`, tone: machine.power }]);
  if (machine.apps.length > 0) lines.push(...wrapApps(machine, Math.floor(inner / CHAR_WIDTH.text)));
  return { machine, box: { x, y: 0, width: MACHINE_WIDTH, height: lines.length * BOX_LINE_HEIGHT + 2 * BOX_PADDING }, lines };
}

/** "apps: bird, dnsmasq" over as many lines as it takes, each app in its own tone. */
function wrapApps(machine: MachineBox, maxChars: number): Span[][] {
  const lines: Span[][] = [[{ text: 'apps: ', tone: 'plain' }]];
  let used = 'apps: '.length;
  machine.apps.forEach((app, index) => {
    const text = fitChars(appCaption(app), maxChars - 2) + (index < machine.apps.length - 1 ? ', ' : '');
    if (used + text.length > maxChars && used > 0) {
      lines.push([]);
      used = 0;
    }
    const tone = app.running === false ? 'dead' : 'plain';
    lines[lines.length - 1]!.push({ text, tone });
    used += text.length;
  });
  return lines;
}

function fit(text: string, width: number, charWidth: number): string {
  return fitChars(text, Math.floor(width / charWidth));
}

function fitChars(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

function chunk<T>(items: T[], size: number): T[][] {
  const rows: T[][] = [];
  for (let i = 0; i < items.length; i += size) rows.push(items.slice(i, i + size));
  return rows;
}
