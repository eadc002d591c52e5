import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorBody, STATUS_OF_KIND } from '../../src/api/errors.js';
import { conflict, DomainError, ERROR_KINDS, invalid, isKind, notFound, tooLarge, unavailable } from '../../src/lib/errors.js';
import { ContentionError, InvalidRequestError, LeaseNotFoundError, StoreUnavailableError } from '../../src/store/errors.js';

describe('one error model', () => {
  it('gives every kind one HTTP status, a 4xx for the caller and 503 for unavailable', () => {
    for (const kind of ERROR_KINDS) {
      const { status, body } = errorBody(new DomainError(kind, `a ${kind} problem`, 'spec.rack'));
      assert.equal(status, STATUS_OF_KIND[kind]);
      assert.deepEqual(body, { error: `a ${kind} problem`, field: 'spec.rack' });
    }
    assert.deepEqual(
      [invalid('x'), notFound('machine 1'), conflict('x'), tooLarge('x'), unavailable('x')].map((e) => errorBody(e).status),
      [400, 404, 409, 413, 503],
    );
    assert.equal(notFound('machine 1').message, 'machine 1 not found');
  });

  it('treats store errors as refusals of their kind', () => {
    assert.equal(errorBody(new InvalidRequestError('empty key')).status, 400);
    assert.equal(errorBody(new StoreUnavailableError('etcd at http://127.0.0.1:1 does not answer')).status, 503);
    assert.equal(errorBody(new ContentionError(200)).status, 503);
    assert.ok(isKind(new LeaseNotFoundError('7'), 'not-found'));
    assert.ok(!isKind(new Error('x'), 'not-found'));
  });

  it('answers a bug with a 500 that leaks nothing', () => {
    const { status, body } = errorBody(new TypeError("Cannot read properties of undefined (reading 'spec')"));
    assert.equal(status, 500);
    assert.deepEqual(body, { error: 'internal error; see the server log' });
  });
});
