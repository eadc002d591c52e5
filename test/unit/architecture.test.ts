/**
 * The layout's rules, checked on the source itself: imports point down only
 * (ARCHITECTURE.md: cli -> server -> api -> domain rooms -> inventory ->
 * store -> lib), no file imports itself back through others (no cycles, type
 * imports included), and no file grows past ~500 lines without saying why.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';

/** Each room's layer: a room may import only rooms of a lower layer (and itself). */
const LAYER: Record<string, number> = {
  lib: 0,
  store: 1,
  inventory: 2,
  // Domain rooms: each stands on the inventory, the store and lib, never on another domain room's I/O.
  boot: 3,
  vdc: 3,
  fabric: 3,
  health: 3,
  repair: 3,
  release: 3,
  cluster: 3,
  // What runs on a server (node join): a client of the boot API, standing on lib only.
  node: 3,
  api: 4,
  console: 4,
  server: 5,
  dctest: 6,
  cli: 7,
};

const LONG_FILE_LINES = 500;
/** A file over LONG_FILE_LINES says why in its header with this phrase, e.g. "Long file: one table of ...". */
const LONG_FILE_REASON = /Long file: \S/;

const SRC = 'src';
const files = sourceFiles(SRC);
const imports = new Map(files.map((file) => [file, importsOf(file)]));

describe('the source layout', () => {
  it('puts every file in a room with a layer', () => {
    const unknown = [...new Set(files.map(roomOf))].filter((room) => LAYER[room] === undefined);
    assert.deepEqual(unknown, [], 'add new rooms to LAYER in test/unit/architecture.test.ts (and ARCHITECTURE.md)');
  });

  it('imports point down only', () => {
    const upward: string[] = [];
    for (const [file, targets] of imports) {
      for (const target of targets) {
        const from = roomOf(file);
        const to = roomOf(target);
        if (from !== to && LAYER[to]! >= LAYER[from]!) upward.push(`${file} -> ${target}`);
      }
    }
    assert.deepEqual(upward, []);
  });

  it('has no import cycle', () => {
    assert.deepEqual(
      cycles(imports).map((cycle) => cycle.join(' -> ')),
      [],
    );
  });

  it('keeps files under ~500 lines unless their header says why', () => {
    const long = files.filter((file) => {
      const text = readFileSync(file, 'utf8');
      return text.split('\n').length > LONG_FILE_LINES && !LONG_FILE_REASON.test(text.slice(0, 2000));
    });
    assert.deepEqual(long, []);
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The src/ files a file imports (static, dynamic and type-only), resolved from their .js specifiers. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)) {
    const target = normalize(join(dirname(file), match[1]!)).replace(/\.js$/, '.ts');
    found.add(target);
  }
  return [...found];
}

function roomOf(file: string): string {
  return relative(SRC, file).split('/')[0]!;
}

/** Tarjan's strongly connected components of more than one file (or a file importing itself). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node)!, index.get(target)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      for (;;) {
        const member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
        if (member === node) break;
      }
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}
