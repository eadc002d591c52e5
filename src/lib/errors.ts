/**
 * One error model for every layer. A `DomainError` is a refusal the caller can
 * act on: it has a kind (what went wrong, in words of the domain, not of HTTP),
 * a message for a person and, where one input is to blame, the field that
 * names it. The API maps kinds to HTTP statuses (api/errors.ts), the CLI
 * prints the message without a stack trace. Anything that is not a
 * DomainError is a bug and keeps its stack trace all the way up.
 */

export const ERROR_KINDS = ['invalid', 'forbidden', 'not-found', 'conflict', 'too-large', 'unavailable', 'corrupt'] as const;

/**
 * - invalid: the input is wrong (malformed, out of range, unknown field);
 * - forbidden: the caller may not do this;
 * - not-found: the thing named does not exist (here);
 * - conflict: the request is fine but the current state refuses it (a duplicate, a state transition that is not allowed);
 * - too-large: the input is over a size limit;
 * - unavailable: a dependency (the store, a tool, a peer) cannot serve now; trying again later may work;
 * - corrupt: stored data is damaged or foreign (not what this version wrote); a person must look at it.
 */
export type ErrorKind = (typeof ERROR_KINDS)[number];

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** The input to blame: a request field ("spec.rack", "body", "/storage/files/0"), when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export const invalid = (message: string, field?: string) => new DomainError('invalid', message, field);
export const notFound = (what: string) => new DomainError('not-found', `${what} not found`);
export const conflict = (message: string, field?: string) => new DomainError('conflict', message, field);
export const tooLarge = (message: string, field?: string) => new DomainError('too-large', message, field);
export const unavailable = (message: string) => new DomainError('unavailable', message);

/** Whether `error` is a DomainError of `kind` (e.g. to treat "not found" as "absent"). */
export function isKind(error: unknown, kind: ErrorKind): error is DomainError {
  return error instanceof DomainError && error.kind === kind;
}

/**
 * An error about bytes from the network (a malformed packet), not a fault in
 * our code: it carries no stack trace, since capturing one would cost more
 * than the parse itself when a flood of junk arrives.
 */
export class NetworkInputError extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

/**
 * An error meant for the person at the terminal: the CLI prints its message as
 * one line and exits with its code, without a stack trace.
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
