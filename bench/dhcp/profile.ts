/** Where a Node process spent its time, from a V8 .cpuprofile (node --cpu-prof): self and inclusive time by function. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarizeProfile(file: string, top: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfById = new Map<number, number>();
  profile.samples.forEach((id, i) => selfById.set(id, (selfById.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const [id, time] of selfById) {
    total += time;
    const name = nameOf(nodes.get(id)!);
    self.set(name, (self.get(name) ?? 0) + time);
    // Inclusive: every distinct function on the stack, once.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = nameOf(nodes.get(at)!);
      if (!seen.has(frame)) inclusive.set(frame, (inclusive.get(frame) ?? 0) + time);
      seen.add(frame);
    }
  }
  const busy = total - (self.get('(idle)') ?? 0);
  const list = (map: Map<string, number>) =>
    [...map]
      .filter(([name]) => name !== '(root)' && name !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, time]) => `  ${((100 * time) / busy).toFixed(1).padStart(5)}%  ${name}`)
      .join('\n');
  return [
    `  sampled ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${((100 * busy) / total).toFixed(0)}%); shares below are of busy time`,
    '  self time:',
    list(self),
    '  inclusive time:',
    list(inclusive),
  ].join('\n');
}

function nameOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : `${functionName || '(anonymous)'} [native]`;
  const where = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/|dist\/)/, '$1');
  return `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
}
