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
