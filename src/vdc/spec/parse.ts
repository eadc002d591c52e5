/** parseTopology: load the YAML documents, check each and all together, then assemble the Topology or throw every problem. */
import { TopologyError, type TopologyProblem } from '../topology-error.js';
import { loadDocuments, type SourceFile } from '../../lib/yaml-source.js';
import { assemble } from './assemble.js';
import { checkAcrossDocuments, checkDocument } from './checks.js';
import { KINDS, type Topology } from './types.js';

/**
 * Parses and checks a topology written in one or more files of multi-document
 * YAML, merged in order. Returns the normalized topology with defaults filled
 * in, or throws a TopologyError listing every problem found.
 */
export function parseTopology(files: readonly SourceFile[]): Topology {
  const problems: TopologyProblem[] = [];
  const documents = loadDocuments(files, problems);
  const entries = documents.flatMap((source) => checkDocument(source, problems) ?? []);
  checkAcrossDocuments(entries, problems);
  if (entries.length === 0 && problems.length === 0) {
    problems.push({
      file: files[0]?.path ?? '(no files)',
      line: 1,
      column: 1,
      message: `the topology defines nothing: give documents with a kind (${KINDS.join(', ')})`,
    });
  }
  if (problems.length > 0) throw new TopologyError(sortProblems(problems, files));
  return assemble(entries);
}

function sortProblems(problems: TopologyProblem[], files: readonly SourceFile[]): TopologyProblem[] {
  const order = new Map(files.map((file, i) => [file.path, i]));
  return problems
    .map((problem, i) => ({ problem, i }))
    .sort(
      (a, b) =>
        (order.get(a.problem.file) ?? 0) - (order.get(b.problem.file) ?? 0) ||
        a.problem.line - b.problem.line ||
        a.problem.column - b.problem.column ||
        a.i - b.i,
    )
    .map(({ problem }) => problem);
}
