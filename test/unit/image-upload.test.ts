/** planUpload and the index rules: which upload is refused and why, what is kept, pruned and remembered. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EMPTY_IMAGE_INDEX,
  type ImageContent,
  type ImageEntry,
  type ImageIndex,
  imageIdProblem,
  imageIndexCodec,
  IMAGE_INDEX_KEY,
  MAX_DELETED_IDS,
  MAX_URLS,
  planUpload,
  withoutImage,
  withUrl,
} from '../../src/boot/image-model.js';
import { CorruptDocumentError } from '../../src/store/codec.js';

const SELF = 'http://10.0.0.1:10080';
const PEER = 'http://10.0.0.2:10080';
const DATE = new Date('2026-01-02T03:04:05Z');
const hex = (c: string) => c.repeat(64);
const content = (c: string, size = 100): ImageContent => ({ size, sha256: { kernel: hex(c), 'initrd.gz': hex('f') } });
const entry = (id: string, c = 'a'): ImageEntry => ({
  id,
  date: '2026-01-01T00:00:00.000Z',
  ...content(c),
  urls: [PEER],
});
const index = (ids: string[], deleted: string[] = []): ImageIndex => ({ images: ids.map((id) => entry(id)), deleted });

describe('planUpload', () => {
  it('adds a new ID as the newest entry, listing the uploading server as its only holder', () => {
    const plan = planUpload(index(['1']), '2', content('b', 42), 5, DATE, SELF);
    assert.equal(plan.kind, 'add');
    assert.ok(plan.kind === 'add');
    assert.deepEqual(plan.entry, { id: '2', date: '2026-01-02T03:04:05.000Z', ...content('b', 42), urls: [SELF] });
    assert.deepEqual(
      plan.index.images.map((e) => e.id),
      ['1', '2'],
    );
    assert.deepEqual(plan.pruned, []);
  });

  it('takes the same content under an existing ID as a no-op (200), whatever server it reaches', () => {
    const plan = planUpload(index(['1']), '1', content('a'), 5, DATE, SELF);
    assert.deepEqual(plan, { kind: 'same', entry: entry('1') });
  });

  it('refuses other content under an existing ID (409: upload it under a new ID)', () => {
    const plan = planUpload(index(['1']), '1', content('b'), 5, DATE, SELF);
    assert.deepEqual(plan, { kind: 'conflict', entry: entry('1') });
  });

  it('refuses a recently deleted ID, even with the content it had', () => {
    assert.deepEqual(planUpload(index([], ['1']), '1', content('a'), 5, DATE, SELF), { kind: 'deleted' });
  });

  it('keeps the newest N: an upload beyond N prunes the oldest, whose IDs are then refused', () => {
    const plan = planUpload(index(['1', '2', '3']), '4', content('d'), 2, DATE, SELF);
    assert.ok(plan.kind === 'add');
    assert.deepEqual(
      plan.index.images.map((e) => e.id),
      ['3', '4'],
    );
    assert.deepEqual(
      plan.pruned.map((e) => e.id),
      ['1', '2'],
    );
    assert.deepEqual(plan.index.deleted, ['1', '2']);
    assert.deepEqual(planUpload(plan.index, '1', content('a'), 2, DATE, SELF), { kind: 'deleted' });
  });

  it('remembers only the most recently deleted IDs', () => {
    const deleted = Array.from({ length: MAX_DELETED_IDS }, (_, i) => `old-${i}`);
    const plan = planUpload(index(['1'], deleted), '2', content('b'), 1, DATE, SELF);
    assert.ok(plan.kind === 'add');
    assert.equal(plan.index.deleted.length, MAX_DELETED_IDS);
    assert.deepEqual(plan.index.deleted.slice(-2), ['old-9', '1']);
    assert.ok(!plan.index.deleted.includes('old-0'), 'the oldest deleted ID may be used again');
  });
});

describe('image index rules', () => {
  it('deleting an image drops its entry and refuses its ID; an unknown ID is not found', () => {
    assert.deepEqual(withoutImage(index(['1', '2']), '1'), { images: [entry('2')], deleted: ['1'] });
    assert.equal(withoutImage(index(['1']), 'nope'), undefined);
  });

  it('lists a holder once, and at most MAX_URLS holders', () => {
    assert.deepEqual(withUrl(index(['1']), '1', SELF)?.images[0]?.urls, [PEER, SELF]);
    assert.equal(withUrl(index(['1']), '1', PEER), undefined);
    const full = { images: [{ ...entry('1'), urls: Array.from({ length: MAX_URLS }, (_, i) => `http://h${i}`) }], deleted: [] };
    assert.equal(withUrl(full, '1', SELF), undefined);
  });

  it('accepts IDs of 1–128 of [A-Za-z0-9._-] starting with a letter or digit, and names the rule otherwise', () => {
    for (const good of ['1', '3510.2.0', 'flatcar_stable-1', 'a'.repeat(128)])
      assert.equal(imageIdProblem(good), undefined, good);
    for (const bad of ['', '.hidden', '-x', 'a/b', 'a b', 'a'.repeat(129)])
      assert.match(imageIdProblem(bad) ?? '', /must be 1–128 characters/, bad);
  });
});

describe('image index document', () => {
  const kv = (value: string) => ({ key: IMAGE_INDEX_KEY, value, createRevision: 1, modRevision: 1, version: 1 });

  it('reads an index an older writer left without lists as empty lists', () => {
    assert.deepEqual(imageIndexCodec.decode(kv('{}')), EMPTY_IMAGE_INDEX);
    assert.deepEqual(imageIndexCodec.decode(kv(JSON.stringify(index(['1'], ['0'])))), index(['1'], ['0']));
  });

  it('refuses a corrupt or foreign value, naming the key and the field', () => {
    assert.throws(() => imageIndexCodec.decode(kv('not json')), CorruptDocumentError);
    assert.throws(
      () => imageIndexCodec.decode(kv(JSON.stringify({ images: [{ ...entry('1'), sha256: { kernel: 'x' } }] }))),
      (error: Error) =>
        error instanceof CorruptDocumentError && /images\/coreos/.test(error.message) && /images\.0\.sha256/.test(error.message),
    );
  });
});
