/**
 * Errors a Store raises that callers are expected to handle by class. Each is
 * a DomainError of the one error model (lib/errors.ts), so the API and the CLI
 * treat them like any other: most are "unavailable" (the store cannot serve
 * now; try again), a malformed request is "invalid".
 */
import { DomainError, type ErrorKind } from '../lib/errors.js';

export class StoreError extends DomainError {
  override name = 'StoreError';
  constructor(message: string, kind: ErrorKind = 'unavailable') {
    super(kind, message);
  }
}

/** The requested revision has been compacted away; the oldest still readable is `compactRevision`. */
export class CompactedError extends StoreError {
  override name = 'CompactedError';
  constructor(
    readonly requestedRevision: number,
    readonly compactRevision: number,
  ) {
    super(`revision ${requestedRevision} has been compacted (history starts at ${compactRevision})`, 'invalid');
  }
}

/** A read at a revision the store has not reached yet. */
export class FutureRevisionError extends StoreError {
  override name = 'FutureRevisionError';
  constructor(
    readonly requestedRevision: number,
    readonly currentRevision: number,
  ) {
    super(`revision ${requestedRevision} is in the future (current revision is ${currentRevision})`, 'invalid');
  }
}

export class LeaseNotFoundError extends StoreError {
  override name = 'LeaseNotFoundError';
  constructor(readonly leaseId: string) {
    super(`lease ${leaseId} not found (expired or revoked)`, 'not-found');
  }
}

/** A request the store refuses as malformed (empty key, bad TTL, ...). */
export class InvalidRequestError extends StoreError {
  override name = 'InvalidRequestError';
  constructor(message: string) {
    super(message, 'invalid');
  }
}

/**
 * The store cannot be opened or reached. The message is one actionable line:
 * which file or endpoint, what is wrong, what to do.
 */
export class StoreUnavailableError extends StoreError {
  override name = 'StoreUnavailableError';
}

/**
 * The store's configuration is fine but it does not answer (yet): nothing
 * listens there, it has no leader, the dial timed out. Unlike a bad file or
 * option, this may pass by itself, so a caller may try again.
 */
export class StoreUnreachableError extends StoreUnavailableError {
  override name = 'StoreUnreachableError';
}

export class StoreClosedError extends StoreError {
  override name = 'StoreClosedError';
  constructor() {
    super('the store has been closed');
  }
}

/** A compare-and-swap loop lost too many races in a row: too many concurrent writers of the same keys. */
export class ContentionError extends StoreError {
  override name = 'ContentionError';
  constructor(attempts: number) {
    super(`gave up after ${attempts} conflicting attempts: too many concurrent writers; try again`);
  }
}
