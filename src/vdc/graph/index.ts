/**
 * `yagura dc graph`: pictures of a virtual data center's topology, as Mermaid
 * (for Markdown), Graphviz dot, or a self-contained HTML page with an SVG bus
 * diagram. Every format draws the same model (model.ts). Pure: returns text.
 */
import type { Topology } from '../spec/index.js';
import { renderDot } from './dot.js';
import { renderHtml } from './html.js';
import { renderMermaid } from './mermaid.js';
import { graphModel, type GraphOptions } from './model.js';

export type GraphFormat = 'mermaid' | 'dot' | 'html';
export const GRAPH_FORMATS: readonly GraphFormat[] = ['mermaid', 'dot', 'html'];
export type { GraphOptions, MachineStatus } from './model.js';

const RENDERERS = { mermaid: renderMermaid, dot: renderDot, html: renderHtml } satisfies Record<GraphFormat, unknown>;

/** The topology drawn in `format`; the same topology and options always give the same text. */
export function renderGraph(topology: Topology, format: GraphFormat, options: GraphOptions = {}): string {
  const render = RENDERERS[format];
  if (render === undefined) throw new Error(`unknown graph format "${String(format)}": use one of ${GRAPH_FORMATS.join(', ')}`);
  return render(graphModel(topology, options));
}
