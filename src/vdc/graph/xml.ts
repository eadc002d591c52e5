/** Escaping for XML text and attribute values (SVG, HTML, Graphviz HTML-like labels). */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text safe in XML content and in quoted attributes. Control characters, which
 * XML 1.0 forbids even as character references, become spaces; line breaks
 * stay (hover details have several lines).
 */
export function escapeXml(text: string): string {
  return text
    .split('\n')
    .map((line) => withoutControls(line).replace(/[&<>"']/g, (char) => ENTITIES[char]!))
    .join('\n');
}

/** Control characters (line breaks included) as spaces: every label here is drawn as one-line pieces. */
export function withoutControls(text: string): string {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ');
}
