/**
 * Store benchmark: the embedded SQLite store and a real etcd (Debian's
 * etcd-server, one member on 127.0.0.1, data in a temp dir), measured with the
 * same workloads and printed side by side.
 *   npm run bench:store            (YAGURA_BENCH_SCALE=0.2 for a quick run)
 */
import { performance } from 'node:perf_hooks';
import { updateKey } from '../../src/store/cas.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { openStore } from '../../src/store/factory.js';
import type { Store } from '../../src/store/interface.js';
import { EtcdCluster } from '../../test/helpers/etcd-cluster.js';
import { tempDir } from '../../test/helpers/temp.js';
import { inParallel, percentile, printTable, rate } from '../table.js';

const scale = Number(process.env.YAGURA_BENCH_SCALE ?? 1);
const n = (count: number) => Math.max(10, Math.round(count * scale));

interface Row {
  metric: string;
  values: string[];
}

type Measure = (store: Store) => Promise<[string, string][]>;

const measures: Measure[] = [
  async (store) => {
    const count = n(2000);
    const started = performance.now();
    for (let i = 0; i < count; i++) await store.put(`seq/${i}`, 'x'.repeat(100));
    return [['put/s, 1 client (each awaited)', rate(count, started)]];
  },
  async (store) => {
    const count = n(20000);
    const started = performance.now();
    await inParallel(64, count, (i) => store.put(`par/${i}`, 'x'.repeat(100)));
    return [['put/s, 64 concurrent', rate(count, started)]];
  },
  async (store) => {
    const count = n(10000);
    for (let i = 0; i < 64; i++) await store.put(`cas/${i}`, '0');
    const started = performance.now();
    await inParallel(64, count, (i) => updateKey(store, `cas/${i % 64}`, (kv) => String(Number(kv!.value) + 1)));
    return [['CAS txn/s (get + txn), 64 concurrent', rate(count, started)]];
  },
  async (store) => {
    for (let i = 0; i < 10000; i += 100) {
      const ops = [];
      for (let j = i; j < i + 100; j++)
        ops.push({ type: 'put' as const, key: `range/${String(j).padStart(5, '0')}`, value: 'v'.repeat(200) });
      await store.txn({ success: ops });
    }
    const full: number[] = [];
    for (let i = 0; i < n(50); i++) {
      const t = performance.now();
      const r = await store.range({ prefix: 'range/' });
      full.push(performance.now() - t);
      if (r.kvs.length !== 10000) throw new Error(`range returned ${r.kvs.length} keys`);
    }
    const page: number[] = [];
    for (let i = 0; i < n(1000); i++) {
      const t = performance.now();
      await store.range({ prefix: 'range/', after: `range/${String((i * 97) % 9900).padStart(5, '0')}`, limit: 100 });
      page.push(performance.now() - t);
    }
    const one: number[] = [];
    for (let i = 0; i < n(2000); i++) {
      const t = performance.now();
      await store.get(`range/${String((i * 7919) % 10000).padStart(5, '0')}`);
      one.push(performance.now() - t);
    }
    return [
      ['range all 10,000 keys, p50 / p99 ms', latency(full)],
      ['range page of 100 in 10,000, p50 / p99 ms', latency(page)],
      ['get one key, p50 / p99 ms', latency(one)],
    ];
  },
  async (store) => {
    const watch = store.watch({ prefix: 'watched/' });
    await watch.ready;
    const sent = new Map<string, number>();
    const delays: number[] = [];
    const count = n(1000);
    const receiving = (async () => {
      for await (const events of watch) {
        const now = performance.now();
        for (const e of events) delays.push(now - sent.get(e.kv.key)!);
        if (delays.length >= count) return;
      }
    })();
    for (let i = 0; i < count; i++) {
      sent.set(`watched/${i}`, performance.now());
      await store.put(`watched/${i}`, 'x');
    }
    await receiving;
    watch.cancel();
    return [['watch delivery (put call → event), p50 / p99 ms', latency(delays)]];
  },
];

async function main(): Promise<void> {
  const dir = tempDir('bench-store');
  const cluster = await EtcdCluster.start(1);
  const results: Record<string, string>[] = [{}, {}];
  try {
    const backends: [string, () => Promise<Store>][] = [
      ['embedded', () => openEmbeddedStore({ dataDir: dir.path })],
      ['etcd', () => openStore({ backend: 'etcd', endpoints: cluster.endpoints, prefix: '/bench/' })],
    ];
    for (const [b, [name, open]] of backends.entries()) {
      const store = await open();
      try {
        for (const measure of measures) {
          for (const [metric, value] of await measure(store)) {
            results[b]![metric] = value;
            process.stderr.write(`${name}: ${metric}: ${value}\n`);
          }
        }
      } finally {
        await store.close();
      }
    }
  } finally {
    await cluster.stop();
    dir.remove();
  }
  const rows: Row[] = Object.keys(results[0]!).map((metric) => ({
    metric,
    values: [results[0]![metric]!, results[1]![metric] ?? '-'],
  }));
  printTable(
    'Store: embedded SQLite vs etcd 3.4 (one member, 127.0.0.1), 100–200 byte values',
    ['metric', 'embedded', 'etcd'],
    rows.map((r) => [r.metric, ...r.values]),
  );
}

function latency(samples: number[]): string {
  return `${percentile(samples, 50).toFixed(2)} / ${percentile(samples, 99).toFixed(2)}`;
}

await main();
