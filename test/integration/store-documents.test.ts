import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { errorBody } from '../../src/api/errors.js';
import { conflict, DomainError } from '../../src/lib/errors.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { CorruptDocumentError, jsonCodec } from '../../src/store/codec.js';
import { GuardFailedError, readDocument, readDocuments, transact } from '../../src/store/document.js';
import { keyExists, keyMissing, type Store } from '../../src/store/interface.js';
import { tempDir } from '../helpers/temp.js';

const counter = jsonCodec('counter', z.object({ count: z.number().int().nonnegative(), by: z.string() }));

describe('typed documents over the store', () => {
  const dir = tempDir('documents');
  let store: Store;
  before(async () => {
    store = await openEmbeddedStore({ dataDir: dir.path });
  });
  after(async () => {
    await store.close();
    dir.remove();
  });

  it('reads back what it wrote, and nothing for a missing key', async () => {
    await transact(store, async (tx) => tx.put('counters/a', counter, { count: 1, by: 'test' }));
    assert.deepEqual((await readDocument(store, 'counters/a', counter))?.value, { count: 1, by: 'test' });
    assert.equal(await readDocument(store, 'counters/none', counter), undefined);
  });

  it('names the key and the field of a corrupt or foreign value, and never writes an invalid one', async () => {
    await store.put('counters/b', '{"count": "three", "by": "sabakan"}');
    await store.put('counters/c', 'not json at all');
    await assert.rejects(readDocument(store, 'counters/b', counter), (error: unknown) => {
      assert.ok(error instanceof CorruptDocumentError);
      assert.equal(error.key, 'counters/b');
      assert.match(error.message, /counters\/b is not a valid counter \(count: /);
      assert.equal(errorBody(error).status, 500);
      assert.match(errorBody(error).body.error, /counters\/b/);
      return true;
    });
    await assert.rejects(readDocuments(store, 'counters/', counter), /counters\/b is not a valid counter/);
    await assert.rejects(readDocument(store, 'counters/c', counter), /counters\/c is not a valid counter \(not JSON\)/);
    await assert.rejects(
      transact(store, async (tx) => tx.put('counters/d', counter, { count: -1, by: 'test' })),
      /counters\/d is not a valid counter \(count: /,
    );
    assert.equal(await store.get('counters/d'), undefined);
  });

  it('loses no increment when writers race, and carries extra records in the same transaction', async () => {
    await transact(store, async (tx) => tx.put('race/n', counter, { count: 0, by: 'start' }));
    const writers = Array.from({ length: 20 }, (_, i) =>
      transact(store, async (tx) => {
        const current = await tx.get('race/n', counter);
        tx.put('race/n', counter, { count: (current?.count ?? 0) + 1, by: `writer ${i}` });
        tx.add({ type: 'put', key: `race/log/${i}`, value: 'done' });
      }),
    );
    await Promise.all(writers);
    assert.equal((await readDocument(store, 'race/n', counter))?.value.count, 20);
    assert.equal((await store.range({ prefix: 'race/log/' })).kvs.length, 20);
  });

  it('writes nothing when the change throws, and stops at once when a guard fails', async () => {
    await assert.rejects(
      transact(store, async (tx) => {
        tx.put('guarded/x', counter, { count: 1, by: 'test' });
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.equal(await store.get('guarded/x'), undefined);
    await assert.rejects(
      transact(store, async (tx) => {
        await tx.get('guarded/x', counter);
        tx.require(keyExists('leader/me'));
        tx.put('guarded/x', counter, { count: 1, by: 'test' });
      }),
      GuardFailedError,
    );
    assert.equal(await store.get('guarded/x'), undefined);
  });

  it('refuses with the guard’s own error, and retries (not refuses) when a listed or assumed key changed', async () => {
    await transact(store, async (tx) => tx.put('made/a', counter, { count: 1, by: 'test' }));
    await assert.rejects(
      transact(store, async (tx) => {
        tx.require(keyMissing('made/a'), () => conflict('made/a exists already', 'name'));
        tx.put('made/a', counter, { count: 2, by: 'test' });
      }),
      (error: unknown) => error instanceof DomainError && error.kind === 'conflict' && error.field === 'name',
    );
    assert.equal((await readDocument(store, 'made/a', counter))?.value.count, 1);

    // keys(): a listed key that changes before the commit makes the attempt run again.
    await store.put('listed/1', 'x');
    let attempts = 0;
    const listed = await transact(store, async (tx) => {
      attempts++;
      const keys = await tx.keys('listed/');
      if (attempts === 1) await store.put('listed/1', 'changed');
      tx.add({ type: 'put', key: 'listed/seen', value: keys.join(',') });
      return keys;
    });
    assert.deepEqual(listed, ['listed/1']);
    assert.equal(attempts, 2);

    // assume(): a value read by a scan is compared as if read through the transaction, without a second read.
    attempts = 0;
    await transact(store, async (tx) => {
      attempts++;
      const scanned = (await store.range({ prefix: 'made/' })).kvs[0];
      tx.assume('made/a', scanned);
      if (attempts === 1) await store.put('made/a', JSON.stringify({ count: 5, by: 'other' }));
      const current = await tx.get('made/a', counter);
      tx.put('made/a', counter, { count: current!.count + 1, by: 'test' });
    });
    assert.equal(attempts, 2);
    assert.equal((await readDocument(store, 'made/a', counter))?.value.count, 6);
  });
});
