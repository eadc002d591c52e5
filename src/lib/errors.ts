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
