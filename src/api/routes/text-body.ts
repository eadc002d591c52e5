/** Bodies of sabakan's plain-text endpoints arrive as text, bytes, or nothing. */
export function textBody(body: unknown): string {
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  return '';
}
