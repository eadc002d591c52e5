/**
 * The Store conformance suite: the same tests, unchanged, against every
 * backend (store-embedded.test.ts, store-etcd.test.ts). Each test works under
 * its own key prefix so tests cannot see each other's keys.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompactedError, FutureRevisionError, InvalidRequestError, LeaseNotFoundError } from '../../src/store/errors.js';
import { keyExists, keyMissing, type Store, type Watch, type WatchEvent } from '../../src/store/interface.js';
import { updateKey } from '../../src/store/cas.js';
import type { Candidate } from '../helpers/candidates.js';

export interface BackendFixture {
  name: string;
  start(): Promise<Store>;
  stop(): Promise<void>;
  /** Closes the store (dropping every connection and watch) and opens it again on the same data. */
  reconnect(store: Store): Promise<Store>;
  candidate(prefix: string, name: string, ttlSeconds: number): Promise<Candidate>;
  /** The shortest lease TTL the backend honours exactly (etcd rounds TTLs below 2 s up). */
  minTtl: number;
}

let prefixCounter = 0;
const uniquePrefix = (label: string) => `t${Date.now().toString(36)}-${prefixCounter++}-${label}/`;

/** Collects events from a watch until `done` says stop or the timeout passes. */
async function collect(watch: Watch, done: (events: WatchEvent[]) => boolean, timeoutMs = 20000): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  const timer = setTimeout(() => watch.cancel(), timeoutMs);
  try {
    for await (const batch of watch) {
      events.push(...batch);
      if (done(events)) break;
    }
  } finally {
    clearTimeout(timer);
    watch.cancel();
  }
  return events;
}

async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export function storeConformance(fixture: BackendFixture): void {
  describe(`Store conformance: ${fixture.name}`, () => {
    let store: Store;
    before(async () => {
      store = await fixture.start();
    });
    after(async () => {
      await store?.close();
      await fixture.stop();
    });

    it('tracks create revision, mod revision and version per key, and one global revision', async () => {
      const p = uniquePrefix('revs');
      const first = await store.put(`${p}a`, 'one');
      const second = await store.put(`${p}a`, 'two');
      const third = await store.put(`${p}b`, 'x');
      assert.equal(second.revision, first.revision + 1);
      assert.equal(third.revision, second.revision + 1);
      const a = await store.get(`${p}a`);
      assert.deepEqual(a, {
        key: `${p}a`,
        value: 'two',
        createRevision: first.revision,
        modRevision: second.revision,
        version: 2,
      });
      // Deleting and re-creating starts a new incarnation.
      const del = await store.delete({ key: `${p}a` });
      assert.equal(del.deleted, 1);
      assert.equal(await store.get(`${p}a`), undefined);
      const again = await store.put(`${p}a`, 'three');
      const reborn = await store.get(`${p}a`);
      assert.equal(reborn?.createRevision, again.revision);
      assert.equal(reborn?.version, 1);
      // Deleting nothing does not advance the revision.
      const status = await store.status();
      const none = await store.delete({ key: `${p}missing` });
      assert.equal(none.deleted, 0);
      assert.equal((await store.status()).revision, status.revision);
    });

    it('reads a key or a range as it was at a past revision', async () => {
      const p = uniquePrefix('past');
      const r1 = await store.put(`${p}k`, 'v1');
      await store.put(`${p}k`, 'v2');
      await store.put(`${p}other`, 'o');
      await store.delete({ key: `${p}k` });
      assert.equal(await store.get(`${p}k`), undefined);
      assert.equal((await store.get(`${p}k`, { revision: r1.revision }))?.value, 'v1');
      const then = await store.range({ prefix: p, revision: r1.revision });
      assert.deepEqual(
        then.kvs.map((kv) => [kv.key, kv.value]),
        [[`${p}k`, 'v1']],
      );
      const current = (await store.status()).revision;
      await assert.rejects(store.range({ prefix: p, revision: current + 100 }), FutureRevisionError);
    });

    it('pages through 10,000 keys with limit and continuation at one snapshot revision', async () => {
      const p = uniquePrefix('pages');
      const total = 10_000;
      // Many keys per transaction keep the set-up quick on both backends.
      // (etcd allows at most 128 operations per transaction by default.)
      for (let i = 0; i < total; i += 100) {
        const ops = [];
        for (let j = i; j < i + 100; j++)
          ops.push({ type: 'put' as const, key: `${p}${String(j).padStart(5, '0')}`, value: `v${j}` });
        await store.txn({ success: ops });
      }
      const seen: string[] = [];
      let page = await store.range({ prefix: p, limit: 777, keysOnly: true });
      const snapshot = page.revision;
      // Writes after the first page must not show up in the snapshot.
      await store.put(`${p}zzz-late`, 'late');
      await store.delete({ key: `${p}00001` });
      for (;;) {
        seen.push(...page.kvs.map((kv) => kv.key));
        assert.ok(
          page.kvs.every((kv) => kv.value === ''),
          'keysOnly returns no values',
        );
        if (!page.more) break;
        assert.equal(page.kvs.length, 777);
        page = await store.range({ prefix: p, limit: 777, keysOnly: true, after: page.next, revision: snapshot });
      }
      assert.equal(seen.length, total);
      assert.equal(new Set(seen).size, total);
      assert.deepEqual(seen, [...seen].sort());
      const limited = await store.range({ prefix: p, limit: 3 });
      assert.deepEqual(
        limited.kvs.map((kv) => kv.value),
        ['v0', 'v2', 'v3'],
      );
      assert.equal(limited.more, true);
      const removed = await store.delete({ prefix: p });
      assert.equal(removed.deleted, total); // 10,000 - 1 deleted + 1 late key
      assert.deepEqual((await store.range({ prefix: p })).kvs, []);
    });

    it('evaluates transaction compares on value, version, create and mod revision and existence', async () => {
      const p = uniquePrefix('txn');
      const created = await store.put(`${p}k`, 'b');
      const cases: [string, Parameters<Store['txn']>[0]['compare'], boolean][] = [
        ['value =', [{ key: `${p}k`, target: 'value', result: '=', value: 'b' }], true],
        ['value <', [{ key: `${p}k`, target: 'value', result: '<', value: 'a' }], false],
        ['value >', [{ key: `${p}k`, target: 'value', result: '>', value: 'a' }], true],
        ['version =', [{ key: `${p}k`, target: 'version', result: '=', value: 1 }], true],
        ['version !=', [{ key: `${p}k`, target: 'version', result: '!=', value: 1 }], false],
        ['create =', [{ key: `${p}k`, target: 'createRevision', result: '=', value: created.revision }], true],
        ['mod <', [{ key: `${p}k`, target: 'modRevision', result: '<', value: created.revision }], false],
        ['exists', [keyExists(`${p}k`)], true],
        ['missing', [keyMissing(`${p}k`)], false],
        ['missing (absent key)', [keyMissing(`${p}nope`)], true],
        ['all must hold', [keyExists(`${p}k`), keyExists(`${p}nope`)], false],
      ];
      for (const [label, compare, expected] of cases) {
        const result = await store.txn({ compare, success: [{ type: 'range', key: `${p}k` }], failure: [] });
        assert.equal(result.succeeded, expected, label);
      }
    });

    it('runs the then or else branch atomically and writes nothing when the transaction fails', async () => {
      const p = uniquePrefix('branch');
      await store.put(`${p}state`, 'open');
      const taken = await store.txn({
        compare: [{ key: `${p}state`, target: 'value', result: '=', value: 'closed' }],
        success: [{ type: 'put', key: `${p}then`, value: '1' }],
        failure: [
          { type: 'put', key: `${p}else`, value: '1' },
          { type: 'delete', key: `${p}state` },
          { type: 'range', prefix: p },
        ],
      });
      assert.equal(taken.succeeded, false);
      assert.equal(taken.results.length, 3);
      assert.deepEqual(taken.results[1], { type: 'delete', deleted: 1 });
      const seen = taken.results[2];
      assert.ok(seen?.type === 'range');
      assert.deepEqual(
        seen.kvs.map((kv) => kv.key),
        [`${p}else`],
        'a range in a transaction sees the earlier writes of that transaction',
      );
      assert.equal(await store.get(`${p}then`), undefined);
      const keys = (await store.range({ prefix: p })).kvs.map((kv) => kv.key);
      assert.deepEqual(keys, [`${p}else`]);
      // All operations share one revision.
      const elseKv = await store.get(`${p}else`);
      assert.equal(elseKv?.modRevision, taken.revision);

      // A transaction that fails part-way (unknown lease) leaves no trace at all.
      const before = (await store.status()).revision;
      await assert.rejects(
        store.txn({
          success: [
            { type: 'put', key: `${p}first`, value: '1' },
            { type: 'put', key: `${p}second`, value: '2', lease: '123456789' },
          ],
        }),
        LeaseNotFoundError,
      );
      assert.equal(await store.get(`${p}first`), undefined);
      assert.equal((await store.status()).revision, before);
    });

    it('loses no update with many concurrent compare-and-swap incrementers', async () => {
      const p = uniquePrefix('cas');
      const key = `${p}counter`;
      await store.put(key, '0');
      const workers = 16;
      const perWorker = 25;
      let conflicts = 0;
      await Promise.all(
        Array.from({ length: workers }, async () => {
          for (let i = 0; i < perWorker; i++) {
            const { attempts } = await updateKey(store, key, (kv) => String(Number(kv!.value) + 1));
            conflicts += attempts - 1;
          }
        }),
      );
      const final = await store.get(key);
      assert.equal(final?.value, String(workers * perWorker));
      assert.equal(final?.version, workers * perWorker + 1);
      assert.ok(conflicts > 0, 'the incrementers really did race');
    });

    it('delivers every event once and in revision order under many concurrent writers', async () => {
      const p = uniquePrefix('watch');
      const watch = store.watch({ prefix: p });
      await watch.ready;
      const writers = 10;
      const perWriter = 60;
      const acknowledged: number[] = [];
      const writing = Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i++) {
            const r =
              i % 10 === 9 ? await store.delete({ key: `${p}w${w}-${i - 1}` }) : await store.put(`${p}w${w}-${i}`, `${w}:${i}`);
            acknowledged.push(r.revision);
          }
        }),
      );
      const total = writers * perWriter;
      const events = await collect(watch, (e) => e.length >= total);
      await writing;
      assert.equal(events.length, total);
      const revisions = events.map((e) => e.kv.modRevision);
      for (let i = 1; i < revisions.length; i++) assert.ok(revisions[i]! > revisions[i - 1]!, 'strictly increasing revisions');
      assert.deepEqual(
        revisions,
        [...acknowledged].sort((a, b) => a - b),
      );
      assert.equal(events.filter((e) => e.type === 'delete').length, writers * (perWriter / 10));
      // Writes outside the prefix were not delivered.
      assert.ok(events.every((e) => e.kv.key.startsWith(p)));
    });

    it('replays history from a start revision and resumes after a reconnect without loss or duplicates', async () => {
      const p = uniquePrefix('resume');
      const first = await store.put(`${p}0`, '0');
      for (let i = 1; i < 5; i++) await store.put(`${p}${i}`, String(i));
      const watch = store.watch({ prefix: p, startRevision: first.revision });
      const replayed = await collect(watch, (e) => e.length >= 5);
      assert.deepEqual(
        replayed.map((e) => e.kv.value),
        ['0', '1', '2', '3', '4'],
      );
      const resumeFrom = watch.lastRevision + 1;
      // Drop every connection, write while nobody watches, then come back.
      store = await fixture.reconnect(store);
      for (let i = 5; i < 10; i++) await store.put(`${p}${i}`, String(i));
      await store.delete({ key: `${p}0` });
      const resumed = await collect(store.watch({ prefix: p, startRevision: resumeFrom }), (e) => e.length >= 6);
      assert.deepEqual(
        resumed.map((e) => `${e.type}:${e.kv.key.slice(p.length)}`),
        ['put:5', 'put:6', 'put:7', 'put:8', 'put:9', 'delete:0'],
      );
    });

    it('watches a single key only', async () => {
      const p = uniquePrefix('onekey');
      const watch = store.watch({ key: `${p}a` });
      await watch.ready;
      await store.put(`${p}ab`, 'not me');
      await store.put(`${p}a`, 'me');
      const events = await collect(watch, (e) => e.length >= 1);
      assert.deepEqual(
        events.map((e) => e.kv.key),
        [`${p}a`],
      );
    });

    it('reports a compacted revision distinctly for reads and watches', async () => {
      const p = uniquePrefix('compact');
      const old = await store.put(`${p}k`, 'old');
      await store.put(`${p}k`, 'mid');
      const keep = await store.put(`${p}k`, 'new');
      await store.put(`${p}other`, 'x');
      await store.compact(keep.revision);
      await assert.rejects(store.get(`${p}k`, { revision: old.revision }), CompactedError);
      assert.equal((await store.get(`${p}k`, { revision: keep.revision }))?.value, 'new');
      const watch = store.watch({ prefix: p, startRevision: old.revision });
      await assert.rejects(
        collect(watch, () => true),
        (error: unknown) => error instanceof CompactedError && error.compactRevision === keep.revision,
      );
      // Watching from the compact revision itself still works.
      const fromKeep = await collect(store.watch({ prefix: p, startRevision: keep.revision }), (e) => e.length >= 2);
      assert.deepEqual(
        fromKeep.map((e) => e.kv.value),
        ['new', 'x'],
      );
      assert.ok((await store.status()).compactRevision >= keep.revision);
      // Compacting again to an older revision is harmless.
      await store.compact(old.revision);
    });

    it('removes a lease’s keys when it expires or is revoked, and not while it is kept alive', async () => {
      const p = uniquePrefix('lease');
      const ttl = fixture.minTtl;
      const expiring = await store.grantLease(ttl);
      const kept = await store.grantLease(ttl);
      const revoked = await store.grantLease(ttl);
      await store.put(`${p}expiring`, '1', { lease: expiring.id });
      await store.put(`${p}kept`, '1', { lease: kept.id });
      await store.put(`${p}revoked`, '1', { lease: revoked.id });
      await store.put(`${p}plain`, '1');
      assert.deepEqual((await store.leaseStatus(expiring.id))?.keys, [`${p}expiring`]);
      assert.equal((await store.get(`${p}kept`))?.lease, kept.id);

      await store.revokeLease(revoked.id);
      assert.equal(await store.get(`${p}revoked`), undefined);
      await assert.rejects(store.keepAliveLease(revoked.id), LeaseNotFoundError);

      const watch = store.watch({ key: `${p}expiring` });
      await watch.ready;
      const started = Date.now();
      const keeper = setInterval(() => void store.keepAliveLease(kept.id), 400);
      try {
        const events = await collect(watch, (e) => e.length >= 1, (ttl + 5) * 1000);
        const elapsed = Date.now() - started;
        assert.equal(events[0]?.type, 'delete');
        assert.ok(elapsed < (ttl + 3) * 1000, `expired after ${elapsed} ms (TTL ${ttl} s)`);
        assert.equal(await store.get(`${p}expiring`), undefined);
        assert.equal(await store.leaseStatus(expiring.id), undefined);
        await sleep(1000);
        assert.ok(await store.get(`${p}kept`), 'a lease that is kept alive keeps its keys');
        assert.ok(await store.get(`${p}plain`));
      } finally {
        clearInterval(keeper);
      }
      await assert.rejects(store.put(`${p}late`, '1', { lease: expiring.id }), LeaseNotFoundError);
    });

    it('fails over leadership when the leader stops, and refuses the deposed leader’s writes', async () => {
      const p = uniquePrefix('election');
      const ttl = fixture.minTtl;
      const margin = 4000;
      const candidates = async (n: number) =>
        eventually(
          `${n} candidates`,
          async () => ((await store.range({ prefix: `${p}election/` })).kvs.length === n ? true : undefined),
          20000,
        );
      const a = await fixture.candidate(p, 'a', ttl);
      await a.elected;
      // b enters the queue before c, so b is next in line.
      const b = await fixture.candidate(p, 'b', ttl);
      await candidates(2);
      const c = await fixture.candidate(p, 'c', ttl);
      await candidates(3);
      try {
        assert.equal(b.isElected() || c.isElected(), false, 'only one leader at a time');
        assert.equal(await a.write(), true);

        // The leader freezes (a long GC pause, a stopped VM): its lease runs out.
        a.pause();
        let started = Date.now();
        await Promise.race([b.elected, sleep(ttl * 1000 + margin).then(() => assert.fail('b was not elected in time'))]);
        assert.ok(Date.now() - started < ttl * 1000 + margin);
        assert.equal(c.isElected(), false);
        a.resume();
        assert.equal(await a.write(), false, 'the deposed leader’s guarded write fails');
        assert.equal(await b.write(), true);

        // The new leader's process is killed outright.
        await b.kill();
        started = Date.now();
        await Promise.race([c.elected, sleep(ttl * 1000 + margin).then(() => assert.fail('c was not elected in time'))]);
        assert.ok(Date.now() - started < ttl * 1000 + margin);
        assert.equal(await c.write(), true);
      } finally {
        await Promise.all([a.kill(), b.kill(), c.kill()]);
      }
    });

    it('rejects malformed requests with InvalidRequestError', async () => {
      await assert.rejects(store.put('', 'x'), InvalidRequestError);
      await assert.rejects(store.range({ prefix: 'x', limit: -1 }), InvalidRequestError);
      await assert.rejects(store.grantLease(0), InvalidRequestError);
      await assert.rejects(store.compact(0), InvalidRequestError);
      const p = uniquePrefix('dup');
      await assert.rejects(
        store.txn({
          success: [
            { type: 'put', key: `${p}k`, value: '1' },
            { type: 'put', key: `${p}k`, value: '2' },
          ],
        }),
        InvalidRequestError,
      );
      assert.equal(await store.get(`${p}k`), undefined);
    });
  });
}
