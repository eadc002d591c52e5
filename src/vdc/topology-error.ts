/**
 * Everything wrong with a topology, reported at once: each problem names the
 * file, line and column, the resource and the field, like a compiler does.
 */
import { UserError } from '../lib/errors.js';
import { formatProblem, type SourceProblem } from '../lib/yaml-source.js';

export type TopologyProblem = SourceProblem;
export { formatProblem };

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
