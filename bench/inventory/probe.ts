/**
 * The latency probe of bench/inventory: a small process of its own that only
 * sends GETs, one after another on one keep-alive connection, and times each
 * from sending to the last body byte. The bench's main process holds the whole
 * fleet plan, etcd's client and fetch's connection pool; timed from there, a
 * bare node:http server sending the same 235 KB answer from memory showed a
 * p99 of 8–9 ms, against 2–3 ms timed from a process like this one.
 *
 * stdin: ProbeJob as JSON. stdout: ProbeResult as JSON. Every answer is
 * checked after its clock stops (status 200, a JSON array of `count` items,
 * each with the expected field values); the first wrong one ends the probe
 * with exit code 1 and the reason on stderr. With --expose-gc the probe
 * collects its own garbage before each timed request.
 */
import { Agent, get } from 'node:http';
import { performance } from 'node:perf_hooks';

export interface ProbeRequest {
  path: string;
  /** How many items the JSON array must have, and values every item must have, by dotted path ("spec.rack"). */
  expect: { count: number; every?: Record<string, string | number> };
}

export interface ProbeJob {
  base: string;
  /** Requests sent first, checked, and not timed. */
  warmup: ProbeRequest[];
  requests: ProbeRequest[];
}

export interface ProbeResult {
  /** One per request, in order. */
  ms: number[];
  /** Bytes of the last answer. */
  bytes: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function timedGet(url: string): Promise<{ ms: number; status: number; body: Buffer }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = get(url, { agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ ms: performance.now() - started, status: response.statusCode ?? 0, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** Why the answer is wrong, or undefined when it is right. */
function answerProblem(request: ProbeRequest, status: number, body: string): string | undefined {
  if (status !== 200) return `status ${status}: ${body.slice(0, 300)}`;
  const items = JSON.parse(body) as unknown;
  if (!Array.isArray(items)) return 'the answer is not a JSON array';
  if (items.length !== request.expect.count) return `${items.length} items, expected ${request.expect.count}`;
  for (const [path, value] of Object.entries(request.expect.every ?? {})) {
    const wrong = items.find(
      (item) => path.split('.').reduce((v: unknown, key) => (v as Record<string, unknown>)?.[key], item) !== value,
    );
    if (wrong !== undefined)
      return `an item has ${path} other than ${JSON.stringify(value)}: ${JSON.stringify(wrong).slice(0, 300)}`;
  }
  return undefined;
}

const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;

async function run(job: ProbeJob): Promise<ProbeResult> {
  let bytes = 0;
  const send = async (request: ProbeRequest): Promise<number> => {
    const { ms, status, body } = await timedGet(`${job.base}${request.path}`);
    const problem = answerProblem(request, status, body.toString());
    if (problem) throw new Error(`GET ${request.path}: ${problem}`);
    bytes = body.length;
    return ms;
  };
  for (const request of job.warmup) await send(request);
  const ms: number[] = [];
  for (const request of job.requests) {
    gc?.({ type: 'major' });
    ms.push(await send(request));
  }
  agent.destroy();
  return { ms, bytes };
}

// This file is only ever run as a process; run.ts imports its types alone (erased).
const input: Buffer[] = [];
for await (const chunk of process.stdin) input.push(chunk as Buffer);
try {
  process.stdout.write(JSON.stringify(await run(JSON.parse(Buffer.concat(input).toString()) as ProbeJob)));
} catch (error) {
  process.stderr.write(`probe: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
