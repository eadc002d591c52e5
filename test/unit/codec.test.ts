import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { CorruptDocumentError, decodedOnce, jsonCodec } from '../../src/store/codec.js';

const kv = (key: string, value: string) => ({ key, value, createRevision: 1, modRevision: 1, version: 1 });

describe('decodedOnce', () => {
  it('decodes a stored text once, a changed text again, and still refuses a corrupt one', () => {
    let checks = 0;
    const codec = decodedOnce(
      jsonCodec(
        'plan',
        z.object({ size: z.number() }).refine(() => ++checks > 0),
      ),
    );
    const first = codec.decode(kv('config/plan', '{"size":1}'));
    assert.equal(codec.decode(kv('config/plan', '{"size":1}')), first);
    assert.equal(checks, 1);
    assert.ok(Object.isFrozen(first));
    assert.deepEqual(codec.decode(kv('config/plan', '{"size":2}')), { size: 2 });
    assert.equal(checks, 2);
    assert.throws(() => codec.decode(kv('config/plan', '{"size":"x"}')), CorruptDocumentError);
    assert.throws(() => codec.encode('config/plan', { size: 'x' } as never), /config\/plan is not a valid plan/);
  });
});
