import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateCompare } from '../../src/store/compare.js';
import { InvalidRequestError } from '../../src/store/errors.js';
import type { KeyValue } from '../../src/store/interface.js';

const kv: KeyValue = { key: 'k', value: '10', createRevision: 5, modRevision: 9, version: 3, lease: '42' };

describe('transaction compares', () => {
  it('compares values bytewise, not numerically', () => {
    assert.equal(evaluateCompare({ key: 'k', target: 'value', result: '<', value: '9' }, kv), true);
    assert.equal(evaluateCompare({ key: 'k', target: 'value', result: '=', value: '10' }, kv), true);
  });

  it('compares revisions and versions numerically', () => {
    assert.equal(evaluateCompare({ key: 'k', target: 'modRevision', result: '>', value: 8 }, kv), true);
    assert.equal(evaluateCompare({ key: 'k', target: 'createRevision', result: '!=', value: 5 }, kv), false);
    assert.equal(evaluateCompare({ key: 'k', target: 'version', result: '<', value: 3 }, kv), false);
  });

  it('treats a missing key as version 0, revisions 0, empty value and no lease', () => {
    assert.equal(evaluateCompare({ key: 'x', target: 'version', result: '=', value: 0 }, undefined), true);
    assert.equal(evaluateCompare({ key: 'x', target: 'createRevision', result: '=', value: 0 }, undefined), true);
    assert.equal(evaluateCompare({ key: 'x', target: 'value', result: '=', value: '' }, undefined), true);
    assert.equal(evaluateCompare({ key: 'x', target: 'lease', result: '=', value: '0' }, undefined), true);
  });

  it('compares lease IDs beyond 2^53 exactly', () => {
    const big: KeyValue = { ...kv, lease: '7587862437781436417' };
    assert.equal(evaluateCompare({ key: 'k', target: 'lease', result: '=', value: '7587862437781436417' }, big), true);
    assert.equal(evaluateCompare({ key: 'k', target: 'lease', result: '=', value: '7587862437781436416' }, big), false);
  });

  it('rejects a non-numeric value for a numeric target', () => {
    assert.throws(() => evaluateCompare({ key: 'k', target: 'version', result: '=', value: 'three' }, kv), InvalidRequestError);
  });
});
