/**
 * Multi-document YAML with positions (the topology's and the site spec's): loads every document of every file,
 * reports syntax problems with their line and column, and maps a field path
 * (["interfaces", 1, "network"]) back to where it is written.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, visit } from 'yaml';
import type { Document } from 'yaml';

/** A problem at a place in a YAML file: what the topology and the site spec report, like a compiler does. */
export interface SourceProblem {
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
export function formatProblem(problem: SourceProblem): string {
  const where = `${problem.file}:${problem.line}:${problem.column}`;
  const what = [problem.resource, problem.field, problem.message].filter((part) => part !== undefined && part !== '');
  return `${where} ${what.join(': ')}`;
}

export interface SourceFile {
  path: string;
  text: string;
}

export interface SourceDocument {
  file: string;
  /** 1-based position of the document in its file, counting empty ones. */
  index: number;
  /** The document as plain data (undefined when it is empty). */
  value: unknown;
  /** The document has YAML errors: its value may be incomplete, so only its name is trusted. */
  broken: boolean;
  doc: Document.Parsed;
  lines: LineCounter;
}

export type FieldPath = readonly (string | number)[];

/** Aliases beyond this many are refused, so "billion laughs" documents cannot blow up memory. */
const MAX_ALIAS_COUNT = 1000;

/** Parses every file; YAML problems go to `problems`, documents (including broken ones) are returned. */
export function loadDocuments(files: readonly SourceFile[], problems: SourceProblem[]): SourceDocument[] {
  const documents: SourceDocument[] = [];
  for (const file of files) {
    const lines = new LineCounter();
    const parsed = parseAllDocuments(file.text, {
      lineCounter: lines,
      prettyErrors: false,
      uniqueKeys: true,
      logLevel: 'error', // no process warnings: problems are reported below
    });
    for (const [i, doc] of parsed.entries()) {
      const at = (offset: number) => {
        const { line, col } = lines.linePos(offset);
        return { file: file.path, line, column: col };
      };
      const yamlProblems = [...doc.errors, ...doc.warnings].map((error) => ({
        ...at(error.pos[0]),
        message: `YAML: ${firstLine(error.message)}`,
      }));
      visit(doc, {
        Alias(_, alias) {
          if (alias.resolve(doc) === undefined)
            yamlProblems.push({ ...at(alias.range?.[0] ?? 0), message: `YAML: unknown alias *${alias.source}` });
        },
        Pair(_, pair) {
          if (pair.key !== null && !isScalar(pair.key) && !isAlias(pair.key))
            yamlProblems.push({
              ...at(rangeStart(pair.key) ?? 0),
              message: 'YAML: a key must be a plain value, not a list or mapping',
            });
        },
      });
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (error) {
        // An unknown alias makes toJS throw too; it has been reported where it is.
        if (yamlProblems.length === 0)
          yamlProblems.push({ ...at(doc.range[0]), message: `YAML: ${firstLine((error as Error).message)}` });
      }
      problems.push(...yamlProblems);
      documents.push({ file: file.path, index: i + 1, value, broken: yamlProblems.length > 0, doc, lines });
    }
  }
  return documents;
}

/**
 * Where `path` is written in `source`: the value's position, or the key's
 * with `part: 'key'`. A path that is not there (a missing field) gives the
 * position of the closest enclosing node that is, so a "required" problem
 * points at the mapping that lacks the field.
 */
export function positionOf(source: SourceDocument, path: FieldPath, part: 'value' | 'key' = 'value') {
  let node: unknown = source.doc.contents;
  let offset = rangeStart(node) ?? source.doc.range[0];
  for (const [i, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(source.doc);
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      if (i === path.length - 1 && part === 'key') {
        offset = rangeStart(pair.key) ?? offset;
        break;
      }
      next = pair.value;
      if (rangeStart(next) === undefined || (isScalar(next) && next.value === null && next.source === '')) {
        // "field:" with nothing after it: point at the key.
        offset = rangeStart(pair.key) ?? offset;
        break;
      }
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    const start = rangeStart(next);
    if (start === undefined) break;
    node = next;
    offset = start;
  }
  const { line, col } = source.lines.linePos(offset);
  return { file: source.file, line, column: col };
}

/** ["interfaces", 1, "network"] → "interfaces[1].network" */
export function formatPath(path: FieldPath): string {
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join('');
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: [number, number, number] | null }).range;
  return range?.[0];
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}
