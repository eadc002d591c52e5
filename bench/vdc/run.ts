/**
 * bench/vdc: how long `yagura dc up` and `dc down` take for 1, 10, 100 and
 * 300 lightweight (netns) nodes, next to the lower bound: a minimal shell
 * script that makes the same namespaces, bridges, veths and addresses with
 * `ip -batch` (one batch for the namespaces, one for the DC's links, one per
 * node for its addresses) and deletes them again.
 *
 * Yagura's figures are wall-clock times of the CLI as a user runs it (Node
 * start-up, parsing, planning, the supervisor's start and its "ready").
 * Run as root: npm run bench:vdc [-- --sizes 1,10,100,300 --rounds 3]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile, printTable } from '../table.js';

const YAGURA = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const SIZES = option('sizes', '1,10,100,300').split(',').map(Number);
const ROUNDS = Number(option('rounds', '3'));
/** Nodes per rack network: racks are /24s with their own bridge. */
const PER_RACK = 50;

interface Node {
  name: string;
  rack: number;
  address: string;
}

function nodesOf(count: number): Node[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `node${i}`,
    rack: Math.floor(i / PER_RACK),
    address: `10.${100 + Math.floor(i / PER_RACK)}.0.${(i % PER_RACK) + 10}/24`,
  }));
}

function topologyYaml(nodes: Node[]): string {
  const racks = [...new Set(nodes.map((node) => node.rack))];
  const docs = racks.map((rack) => `kind: Network\nname: rack${rack}\n`);
  for (const node of nodes)
    docs.push(
      `kind: Node\ntype: netns\nname: ${node.name}\ninterfaces:\n  - network: rack${node.rack}\n    addresses: [${node.address}]\n`,
    );
  return docs.join('---\n');
}

/** The floor: the same host objects with bare `ip -batch` calls from a shell script. */
function floorScripts(dc: string, nodes: Node[]): { up: string; down: string } {
  const racks = [...new Set(nodes.map((node) => node.rack))];
  const ns = (node: Node) => `yg-${dc}.${node.name}`;
  const up = [
    'set -e',
    `ip -batch - <<'EOF'\nnetns add yg-${dc}\n${nodes.map((node) => `netns add ${ns(node)}`).join('\n')}\nEOF`,
    `ip -n yg-${dc} -batch - <<'EOF'\nlink set lo up\n${racks.map((rack) => `link add rack${rack} type bridge\nlink set rack${rack} up`).join('\n')}\n${nodes
      .map(
        (node, i) => `link add yg-v${i} type veth peer name eth0 netns ${ns(node)}\nlink set yg-v${i} master rack${node.rack} up`,
      )
      .join('\n')}\nEOF`,
    ...nodes.map(
      (node) => `ip -n ${ns(node)} -batch - <<'EOF'\nlink set lo up\naddr add ${node.address} dev eth0\nlink set eth0 up\nEOF`,
    ),
  ].join('\n');
  const down = `ip -batch - <<'EOF'\n${nodes.map((node) => `netns del ${ns(node)}`).join('\n')}\nnetns del yg-${dc}\nEOF`;
  return { up, down };
}

function timed(run: () => void): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

function sh(script: string): void {
  const result = spawnSync('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`floor script failed: ${result.stderr.toString()}`);
}

function yagura(args: string[], env: NodeJS.ProcessEnv): void {
  execFileSync(process.execPath, [YAGURA, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
}

if (process.getuid?.() !== 0) {
  console.error('bench/vdc needs root (network namespaces)');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'yagura-bench-vdc-'));
const env = { YAGURA_DC_RUN_ROOT: join(work, 'run'), YAGURA_DC_DATA_ROOT: join(work, 'data') };
const rows: string[][] = [];
const ratios: string[][] = [];
try {
  for (const size of SIZES) {
    const nodes = nodesOf(size);
    const file = join(work, `bench${size}.yml`);
    writeFileSync(file, topologyYaml(nodes));
    const samples = { yUp: [] as number[], yDown: [] as number[], fUp: [] as number[], fDown: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const dc = `bench${size}`;
      samples.yUp.push(timed(() => yagura(['dc', 'up', file, '--name', dc], env)));
      samples.yDown.push(timed(() => yagura(['dc', 'down', dc], env)));
      const floor = floorScripts(`floor${size}`, nodes);
      samples.fUp.push(timed(() => sh(floor.up)));
      samples.fDown.push(timed(() => sh(floor.down)));
      process.stderr.write(
        `${size} nodes, round ${round + 1}/${ROUNDS}: up ${samples.yUp.at(-1)!.toFixed(0)} ms (floor ${samples.fUp.at(-1)!.toFixed(0)}), down ${samples.yDown.at(-1)!.toFixed(0)} ms (floor ${samples.fDown.at(-1)!.toFixed(0)})\n`,
      );
    }
    const med = (values: number[]) => percentile(values, 50);
    rows.push([
      String(size),
      med(samples.yUp).toFixed(0),
      med(samples.fUp).toFixed(0),
      med(samples.yDown).toFixed(0),
      med(samples.fDown).toFixed(0),
    ]);
    ratios.push([
      String(size),
      (med(samples.yUp) / med(samples.fUp)).toFixed(2),
      (med(samples.yDown) / med(samples.fDown)).toFixed(2),
      (med(samples.yUp) / size).toFixed(2),
    ]);
  }
} finally {
  for (const size of SIZES) {
    spawnSync(process.execPath, [YAGURA, 'dc', 'down', `bench${size}`], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const leftovers = spawnSync('bash', ['-c', `ls /run/netns 2>/dev/null | grep '^yg-floor${size}' || true`])
      .stdout.toString()
      .trim();
    if (leftovers)
      sh(
        `ip -batch - <<'EOF'\n${leftovers
          .split('\n')
          .map((name) => `netns del ${name}`)
          .join('\n')}\nEOF`,
      );
  }
  rmSync(work, { recursive: true, force: true });
}

printTable(
  `Virtual DC with N netns nodes (one interface each, ${PER_RACK} per rack bridge): median of ${ROUNDS} rounds, ms`,
  ['netns nodes', 'yagura dc up', 'ip -batch floor up', 'yagura dc down', 'ip -batch floor down'],
  rows,
);
printTable('Ratio to the floor, and up time per node', ['netns nodes', 'up ÷ floor', 'down ÷ floor', 'up ms per node'], ratios);
