/**
 * Inventory benchmark: the machine inventory measured through the real HTTP
 * API of a real `yagura serve` process (the built dist/cli/main.js), once on
 * the embedded SQLite store and once on a real etcd (Debian's etcd-server, one
 * member on 127.0.0.1), printed side by side. Every response is checked
 * (status, count, contents), so an error can never pass for a fast answer.
 *   npm run build && npm run bench:inventory     (YAGURA_BENCH_SCALE=0.1 for a quick run: 4 racks)
 *   YAGURA_BENCH_CPU_PROF=DIR                    also write each server's CPU profile (node --cpu-prof) to DIR,
 *                                                and DIR/phases.json: when each phase ran, on the profiles' clock
 * Progress goes to stderr, the table to stdout.
 *
 * Latencies are timed by a probe process of its own (bench/inventory/probe.ts:
 * node:http, one keep-alive connection, its own garbage collected before each
 * request), not by this process, whose state showed in the tail. The label
 * search is also timed against a floor: a bare node:http server sending the
 * same bytes (bench/inventory/floor.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ipamProblems } from '../../src/inventory/ipam.js';
import type { IpamConfig, Machine, MachineState } from '../../src/inventory/model.js';
import { EtcdCluster } from '../../test/helpers/etcd-cluster.js';
import { freePort } from '../../test/helpers/ports.js';
import { tempDir } from '../../test/helpers/temp.js';
import { inParallel, percentile, printTable, rate } from '../table.js';
import type { ProbeJob, ProbeRequest, ProbeResult } from './probe.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist/cli/main.js');

const scale = Number(process.env.YAGURA_BENCH_SCALE ?? 1);
const cpuProfDir = process.env.YAGURA_BENCH_CPU_PROF ? resolve(process.env.YAGURA_BENCH_CPU_PROF) : undefined;
const RACKS = Math.max(1, Math.round(40 * scale));
const PER_RACK = 250;
/**
 * One POST is one transaction of about one compare and one put per machine
 * plus four; etcd refuses transactions over 128 operations by default
 * (--max-txn-ops), so 50 machines a batch leaves room.
 */
const BATCH = 50;
const BATCHES_IN_FLIGHT = 4;
const STATES_IN_FLIGHT = 16;
const samples = (count: number) => Math.max(20, Math.round(count * scale));
const WARMUP = 20;

/** 40 racks × 250 machines: /23 node segments (512 addresses) of one /12, BMCs in another /12. */
const IPAM: IpamConfig = {
  'max-nodes-in-rack': PER_RACK,
  'node-ipv4-pool': '10.64.0.0/12',
  'node-ipv4-offset': '0.0.0.0',
  'node-ipv4-range-size': 9,
  'node-ipv4-range-mask': 23,
  'node-ip-per-node': 1,
  'node-index-offset': 3,
  'node-gateway-offset': 1,
  'bmc-ipv4-pool': '10.80.0.0/12',
  'bmc-ipv4-offset': '0.0.0.0',
  'bmc-ipv4-range-size': 9,
  'bmc-ipv4-range-mask': 12,
  'bmc-ipv4-gateway-offset': 1,
};

/** What the bench registers, and the states each machine is moved through (allowed transitions only). */
interface Planned {
  serial: string;
  rack: number;
  role: 'boot' | 'worker';
  product: 'R640' | 'R650';
  path: MachineState[];
}

const fleet = planFleet();
const finalState = (m: Planned): MachineState => m.path.at(-1) ?? 'uninitialized';
const total = fleet.length;
const healthyInRack = Array.from(
  { length: RACKS },
  (_, rack) => fleet.filter((m) => m.rack === rack && finalState(m) === 'healthy').length,
);
const r650 = fleet.filter((m) => m.product === 'R650').length;

const METRICS = {
  register: `register machines/s (POST batches of ${BATCH}, ${BATCHES_IN_FLIGHT} in flight)`,
  states: `state changes/s (PUT /state, ${STATES_IN_FLIGHT} in flight)`,
  one: 'one machine ?serial=S, p50 / p99 ms',
  rackState: `?rack=R&state=healthy (${healthyInRack[0]} machines), p50 / p99 ms`,
  label: `?labels=product=R650 (${r650} machines), p50 / p99 ms`,
  all: `list all (${total.toLocaleString('en-US')} machines), p50 / p99 ms`,
};
type Metric = keyof typeof METRICS;
type Results = Partial<Record<Metric, { text: string; p50?: number; p99?: number }>>;

interface Backend {
  name: string;
  /** Starts what the server needs; returns its store flags and how to tear it down. */
  setup(): Promise<{ args: string[]; teardown: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'embedded',
    setup: async () => {
      const data = scratch('bench-inventory-data');
      return { args: ['--data-dir', data.path], teardown: async () => data.remove() };
    },
  },
  {
    name: 'etcd',
    setup: async () => {
      const cluster = await EtcdCluster.start(1);
      // stop() removes etcd's temp dir; if the run is interrupted, the exit handler below does.
      const dataDir = dirname(cluster.members[0]!.dataDir);
      const interrupted = { remove: () => rmSync(dataDir, { recursive: true, force: true }) };
      dirs.add(interrupted);
      return {
        args: ['--store', 'etcd', '--etcd-endpoints', cluster.endpoints.join(','), '--etcd-prefix', '/bench/'],
        teardown: async () => {
          dirs.delete(interrupted);
          await cluster.stop();
        },
      };
    },
  },
];

async function main(): Promise<void> {
  if (!existsSync(MAIN)) throw new UsageError(`${MAIN} is missing: build yagura first (npm run build), then run the bench again`);
  warnIfStale();
  const problems = ipamProblems(IPAM);
  if (problems.length > 0) throw new Error(`the bench's IPAM config is invalid: ${JSON.stringify(problems)}`);
  if (RACKS * PER_RACK !== total) throw new Error('fleet plan is inconsistent');
  progress(`${RACKS} racks × ${PER_RACK} machines = ${total} machines; scale ${scale}`);

  const results: Results[] = [];
  const notes: string[] = [];
  for (const backend of backends) {
    const { args, teardown } = await backend.setup();
    try {
      const server = await YaguraServer.start(backend.name, args);
      try {
        results.push(await measure(backend.name, server, notes));
      } finally {
        await server.stop();
      }
    } finally {
      await teardown();
    }
  }

  printTable(
    `Inventory through the HTTP API of yagura serve: embedded SQLite vs etcd (one member), 127.0.0.1, ${total.toLocaleString('en-US')} machines in ${RACKS} racks`,
    ['metric', ...backends.map((b) => b.name)],
    (Object.keys(METRICS) as Metric[]).map((metric) => [METRICS[metric], ...results.map((r) => r[metric]?.text ?? '-')]),
  );
  console.log(
    '\nLatency: sequential requests on one keep-alive connection from a probe process, request sent → last body byte received.',
  );
  console.log('Server side: fastify responseTime from the server log (request received → response written), p50 / p99 ms.');
  for (const note of notes) console.log(note);
  console.log(targetVerdict(results[0]!));
  if (cpuProfDir) {
    writeFileSync(join(cpuProfDir, 'phases.json'), JSON.stringify(phases, null, 1));
    progress(`CPU profiles and phases.json are in ${cpuProfDir}`);
  }
}

/** Phase boundaries in µs of the monotonic clock, the clock of V8's CPU profiles. */
const phases: { backend: string; phase: string; startUs: number; endUs: number }[] = [];
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

/** The whole workload against one server; returns one cell per metric. */
async function measure(name: string, server: YaguraServer, notes: string[]): Promise<Results> {
  const url = server.url;
  const results: Results = {};
  const serverSide: string[] = [];
  const report = (metric: Metric, text: string, p50?: number, p99?: number) => {
    results[metric] = { text, p50, p99 };
    progress(`${name}: ${METRICS[metric]}: ${text}`);
  };

  expectStatus(await call(url, 'PUT', '/api/v1/config/ipam', IPAM), 200, 'PUT /api/v1/config/ipam');

  // Registration: batches interleaved by rack, so the batches in flight rarely touch the same rack document.
  const batches: Planned[][] = [];
  for (let start = 0; start < PER_RACK; start += BATCH) {
    for (let rack = 0; rack < RACKS; rack++) {
      batches.push(fleet.filter((m) => m.rack === rack).slice(start, start + BATCH));
    }
  }
  let started = performance.now();
  let phaseStart = monotonicUs();
  let done = 0;
  await inParallel(BATCHES_IN_FLIGHT, batches.length, async (i) => {
    const batch = batches[i]!;
    const body = batch.map((m) => ({
      serial: m.serial,
      rack: m.rack,
      role: m.role,
      bmc: { type: 'IPMI-2.0' },
      labels: { product: m.product },
    }));
    const response = await call(url, 'POST', '/api/v1/machines', body);
    expectStatus(response, 201, `POST /api/v1/machines (rack ${batch[0]!.rack})`);
    const registered = JSON.parse(response.body.toString()) as Machine[];
    if (registered.length !== batch.length) throw new Error(`registered ${registered.length} of ${batch.length} machines`);
    done += batch.length;
    if (done % 2000 === 0) progress(`${name}: registered ${done} of ${total}`);
  });
  report('register', rate(total, started));
  phases.push({ backend: name, phase: 'register', startUs: phaseStart, endUs: monotonicUs() });

  // States: every step of every machine's path, step by step (a machine's later step waits for its earlier one).
  const steps = Math.max(...fleet.map((m) => m.path.length));
  let changes = 0;
  started = performance.now();
  phaseStart = monotonicUs();
  for (let step = 0; step < steps; step++) {
    const moving = fleet.filter((m) => m.path.length > step);
    await inParallel(STATES_IN_FLIGHT, moving.length, async (i) => {
      const m = moving[i]!;
      const response = await call(url, 'PUT', `/api/v1/state/${m.serial}`, m.path[step]!);
      expectStatus(response, 200, `PUT /api/v1/state/${m.serial} ${m.path[step]}`);
    });
    changes += moving.length;
  }
  report('states', rate(changes, started));
  phases.push({ backend: name, phase: 'states', startUs: phaseStart, endUs: monotonicUs() });

  const random = mulberry32(42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const requests = (count: number, next: () => ProbeRequest) => Array.from({ length: WARMUP + count }, next);

  const one = requests(samples(2000), () => {
    const m = pick(fleet);
    return {
      path: `/api/v1/machines?serial=${m.serial}`,
      expect: { count: 1, every: { 'spec.serial': m.serial, 'status.state': finalState(m) } },
    };
  });
  report('one', ...(await latency(name, server, serverSide, 'one machine', url, one)).cell);

  const rackState = requests(samples(1000), () => {
    const rack = Math.floor(random() * RACKS);
    return {
      path: `/api/v1/machines?rack=${rack}&state=healthy`,
      expect: { count: healthyInRack[rack]!, every: { 'spec.rack': rack, 'status.state': 'healthy' } },
    };
  });
  report('rackState', ...(await latency(name, server, serverSide, 'rack + state', url, rackState)).cell);

  const label = requests(samples(1000), () => ({
    path: '/api/v1/machines?labels=product=R650',
    expect: { count: r650, every: { 'spec.labels.product': 'R650' } },
  }));
  const labelled = await latency(name, server, serverSide, 'label', url, label);
  report('label', ...labelled.cell);
  const floor = await floorLatency(url, label);
  notes.push(
    `${name}: the floor for the label search, a bare node:http server sending the same ${Math.round(labelled.bytes / 1000)} KB from memory, timed by the same probe: ${floor}.`,
  );

  const all = requests(samples(200), () => ({ path: '/api/v1/machines', expect: { count: total } }));
  const listed = await latency(name, server, serverSide, 'list all', url, all);
  report('all', ...listed.cell);
  const bytes = listed.bytes;
  notes.push(`${name}, server side: ${serverSide.join('; ')}.`);
  notes.push(`${name}: list all returns ${(bytes / 1e6).toFixed(1)} MB of JSON (${Math.round(bytes / total)} bytes a machine).`);
  return results;
}

/**
 * The requests through the probe (the first WARMUP untimed); returns the cell
 * and p50, p99, the size of an answer, and adds the server's own view
 * (fastify's responseTime in its log) to `serverSide`.
 */
async function latency(
  name: string,
  server: YaguraServer,
  serverSide: string[],
  what: string,
  base: string,
  requests: ProbeRequest[],
): Promise<{ cell: [string, number, number]; bytes: number }> {
  const count = requests.length - WARMUP;
  const startUs = monotonicUs();
  const logStart = server.logSize();
  const { ms, bytes } = await probe({ base, warmup: requests.slice(0, WARMUP), requests: requests.slice(WARMUP) });
  phases.push({ backend: name, phase: what, startUs, endUs: monotonicUs() });
  progress(`${name}: ${what}: ${count} samples`);
  // The log line follows the response, so the last ones may still be on their way.
  let own = server.responseTimes(logStart);
  for (let wait = 0; own.length < requests.length && wait < 40; wait++) {
    await new Promise((r) => setTimeout(r, 50));
    own = server.responseTimes(logStart);
  }
  own = own.slice(-count); // the warm-up requests logged first
  if (own.length === count) serverSide.push(`${what} ${percentile(own, 50).toFixed(2)} / ${percentile(own, 99).toFixed(2)}`);
  else progress(`${name}: ${what}: found ${own.length} of ${count} responses in the server's log; no server-side figures`);
  const p50 = percentile(ms, 50);
  const p99 = percentile(ms, 99);
  return { cell: [`${p50.toFixed(2)} / ${p99.toFixed(2)}`, p50, p99], bytes };
}

/** The same requests answered by the floor server with the bytes of one real answer: "p50 / p99 ms". */
async function floorLatency(base: string, requests: ProbeRequest[]): Promise<string> {
  const answer = await call(base, 'GET', requests[0]!.path, undefined);
  expectStatus(answer, 200, `GET ${requests[0]!.path}`);
  const dir = scratch('bench-inventory-floor');
  const file = join(dir.path, 'answer.json');
  writeFileSync(file, answer.body);
  const floor = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/inventory/floor.ts'), file], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(floor);
  try {
    const port = await new Promise<string>((resolve, reject) => {
      floor.stdout!.once('data', (data: Buffer) => resolve(data.toString().trim()));
      floor.once('exit', (code) => reject(new Error(`the floor server exited (${code}) before it listened`)));
    });
    const { ms } = await probe({
      base: `http://127.0.0.1:${port}`,
      warmup: requests.slice(0, WARMUP),
      requests: requests.slice(WARMUP),
    });
    return `${percentile(ms, 50).toFixed(2)} / ${percentile(ms, 99).toFixed(2)} ms`;
  } finally {
    floor.kill();
    children.delete(floor);
    dir.remove();
  }
}

/** Runs bench/inventory/probe.ts as its own process (see there why) and returns what it measured. */
async function probe(job: ProbeJob): Promise<ProbeResult> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench/inventory/probe.ts')], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (data: Buffer) => out.push(data));
  child.stderr.on('data', (data: Buffer) => err.push(data));
  child.stdin.end(JSON.stringify(job));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  children.delete(child);
  if (code !== 0) throw new Error(`the latency probe failed (exit ${code}): ${Buffer.concat(err).toString().trim()}`);
  return JSON.parse(Buffer.concat(out).toString()) as ProbeResult;
}

function targetVerdict(embedded: Results): string {
  const lines = [
    'Targets (embedded store, 10,000 machines): list all under 100 ms; one machine and filtered searches p99 under 5 ms.',
  ];
  if (total !== 10000) return `${lines[0]}\n(Targets apply at full scale; this run has ${total} machines.)`;
  const check = (metric: Metric, limit: number) => {
    const p99 = embedded[metric]?.p99;
    if (p99 === undefined) return;
    const verdict = p99 < limit ? 'meets' : `misses by ${(p99 - limit).toFixed(2)} ms (${(p99 / limit).toFixed(1)}×)`;
    lines.push(`  ${METRICS[metric].replace(/, p50 \/ p99 ms$/, '')}: p99 ${p99.toFixed(2)} ms vs ${limit} ms: ${verdict}`);
  };
  check('one', 5);
  check('rackState', 5);
  check('label', 5);
  check('all', 100);
  return lines.join('\n');
}

// ---- the fleet ----

/**
 * Rack r, machine i: serial r{r}-{i}; i = 0 is the rack's boot server. Every
 * fifth machine becomes healthy, a fifth of those then unhealthy, and one in
 * fifty retiring; one in 25 is an R650 (the rest R640).
 */
function planFleet(): Planned[] {
  const machines: Planned[] = [];
  for (let rack = 0; rack < RACKS; rack++) {
    for (let i = 0; i < PER_RACK; i++) {
      const path: MachineState[] = [];
      if (i % 5 === 1) path.push('healthy');
      if (i % 25 === 6) path.push('unhealthy');
      if (i % 50 === 2) path.push('retiring');
      machines.push({
        serial: `r${rack}-${i}`,
        rack,
        role: i === 0 ? 'boot' : 'worker',
        product: i % 25 === 12 ? 'R650' : 'R640',
        path,
      });
    }
  }
  return machines;
}

// ---- the server under test ----

const children = new Set<ChildProcess>();
const dirs = new Set<{ remove: () => void }>();
// An interrupted run leaves no server behind and no temp dir (etcd's helper kills etcd the same way).
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of dirs) dir.remove();
});
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

/** `yagura serve` as a child process, its JSON log in a temp file. */
class YaguraServer {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly dir: { path: string; remove: () => void },
    private readonly log: string,
  ) {}

  logSize(): number {
    return statSync(this.log).size;
  }

  /** fastify's responseTime (ms, request received → response written) of each request logged after byte `from`. */
  responseTimes(from: number): number[] {
    const text = readFileSync(this.log).subarray(from).toString();
    const times: number[] = [];
    for (const line of text.split('\n')) {
      if (!line.includes('"request completed"')) continue;
      const entry = JSON.parse(line) as { responseTime?: number };
      if (typeof entry.responseTime === 'number') times.push(entry.responseTime);
    }
    return times;
  }

  static async start(name: string, storeArgs: string[]): Promise<YaguraServer> {
    const dir = scratch('bench-inventory-server');
    const port = await freePort();
    const log = join(dir.path, 'serve.log');
    const fd = openSync(log, 'w');
    if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
    const profile = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=serve-${name}.cpuprofile`] : [];
    const child = spawn(
      process.execPath,
      [...profile, MAIN, 'serve', '--listen', `127.0.0.1:${port}`, '--dhcp-listen', 'off', ...storeArgs],
      {
        cwd: ROOT,
        stdio: ['ignore', fd, fd],
      },
    );
    closeSync(fd);
    children.add(child);
    child.on('exit', () => children.delete(child));
    const server = new YaguraServer(`http://127.0.0.1:${port}`, child, dir, log);
    try {
      await server.waitServing(log);
    } catch (error) {
      await server.stop();
      throw error;
    }
    progress(`${name}: yagura serve is up at ${server.url}`);
    return server;
  }

  /** Until the log has the "serving" line (or the process died, or 60 s passed). */
  private async waitServing(log: string): Promise<void> {
    const deadline = Date.now() + 60000;
    for (;;) {
      const text = readFileSync(log, 'utf8');
      if (text.split('\n').some((line) => line.includes('"serving"'))) return;
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`yagura serve exited (${this.child.exitCode ?? this.child.signalCode}) before serving:\n${tail(text)}`);
      if (Date.now() > deadline) throw new Error(`yagura serve did not log "serving" within 60 s:\n${tail(text)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM (lets --cpu-prof write its profile), SIGKILL after 20 s; removes the temp dir. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
      await exited;
      clearTimeout(timer);
    }
    this.dir.remove();
  }
}

// ---- HTTP ----

interface Response {
  status: number;
  body: Buffer;
}

async function call(base: string, method: string, path: string, body: unknown): Promise<Response> {
  const json = typeof body !== 'string';
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': json ? 'application/json' : 'text/plain' },
    body: json ? JSON.stringify(body) : body,
  });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

function expectStatus(response: Response, status: number, what: string): void {
  if (response.status !== status)
    throw new Error(`${what}: status ${response.status}, expected ${status}: ${response.body.toString().slice(0, 500)}`);
}

// ---- helpers ----

/** A small seeded PRNG, so every run asks for the same machines. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A temp dir that is removed by remove(), or at exit if the run dies first. */
function scratch(label: string): { path: string; remove: () => void } {
  const dir = tempDir(label);
  const entry = {
    path: dir.path,
    remove: () => {
      dir.remove();
      dirs.delete(entry);
    },
  };
  dirs.add(entry);
  return entry;
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

function tail(text: string): string {
  return text.split('\n').slice(-20).join('\n');
}

/** A build older than the sources measures old code: say so (the bench still runs). */
function warnIfStale(): void {
  const built = statSync(MAIN).mtimeMs;
  const src = join(ROOT, 'src');
  const newer = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.ts') && statSync(join(src, file)).mtimeMs > built,
  );
  if (newer.length > 0)
    progress(`warning: src/ has changed since dist/ was built (${newer.slice(0, 3).join(', ')}…): run npm run build`);
}

/** A problem the person running the bench can fix: printed without a stack trace. */
class UsageError extends Error {}

await main().catch((error: unknown) => {
  process.stderr.write(
    `bench:inventory: ${error instanceof UsageError ? error.message : ((error as Error).stack ?? String(error))}\n`,
  );
  process.exitCode = 1;
});
