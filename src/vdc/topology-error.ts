/**
 * Everything wrong with a topology, reported at once: each problem names the
 * file, line and column, the resource and the field, like a compiler does.
 */
import { UserError } from '../lib/errors.js';

export interface TopologyProblem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** "Node rack0-cs1", "Network (document 3)"; absent for YAML syntax problems. */
  resource?: string;
  /** "interfaces[1].network"; absent when the problem is the whole document. */
  field?: string;
  message: string;
}

/** `cluster.yml:23:5 Node rack0-cs1: interfaces[1].network: unknown network "r0-node3" (known: r0-node1, r0-node2)` */
export function formatProblem(problem: TopologyProblem): string {
  const where = `${problem.file}:${problem.line}:${problem.column}`;
  const what = [problem.resource, problem.field, problem.message].filter((part) => part !== undefined && part !== '');
  return `${where} ${what.join(': ')}`;
}

/** Thrown by parseTopology with every problem found, in file order. The CLI prints the message and exits 1. */
export class TopologyError extends UserError {
  override name = 'TopologyError';
  constructor(readonly problems: readonly TopologyProblem[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the topology:\n${problems
        .map((problem) => `  ${formatProblem(problem)}`)
        .join('\n')}`,
    );
  }
}
