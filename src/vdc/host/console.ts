/**
 * Attaching a terminal to a VM's serial console (`yagura dc console NODE`).
 * QEMU serves the console on a unix socket (NodePaths.console) and copies
 * everything it prints to a log (NodePaths.consoleLog), so attaching and
 * detaching loses nothing and the log keeps every boot.
 *
 *   const how = await attachConsole(paths.console, process.stdin, process.stdout);
 *
 * A TTY is put into raw mode (so Ctrl-C, arrows and tab reach the guest) and
 * restored afterwards; Ctrl-] detaches, as telnet and virsh console do, and
 * so does the end of input that is not a terminal.
 */
import { connect } from 'node:net';
import { UserError } from '../../lib/errors.js';

/** Ctrl-] */
export const DETACH_BYTE = 0x1d;

/** A readable stream that may be a TTY (process.stdin). */
export type ConsoleInput = NodeJS.ReadableStream & { isTTY?: boolean; isRaw?: boolean; setRawMode?: (raw: boolean) => unknown };

/** How the session ended: the user pressed Ctrl-], or the VM went away (QEMU closed the socket). */
export type DetachReason = 'detached' | 'closed';

/** Pipes `stdin` to the console socket and the console to `stdout` until Ctrl-] or until QEMU closes the socket. */
export function attachConsole(socketPath: string, stdin: ConsoleInput, stdout: NodeJS.WritableStream): Promise<DetachReason> {
  return new Promise<DetachReason>((resolve, reject) => {
    const socket = connect(socketPath);
    const wasRaw = stdin.isRaw === true;
    let attached = false;
    let finished = false;

    const finish = (outcome: DetachReason | Error): void => {
      if (finished) return;
      finished = true;
      stdin.removeListener('data', onInput);
      stdin.removeListener('end', onEnd);
      stdin.pause();
      if (attached && stdin.isTTY && stdin.setRawMode) stdin.setRawMode(wasRaw);
      socket.unpipe();
      // end() rather than destroy(): what was typed just before detaching still reaches the guest.
      if (outcome === 'detached') socket.end();
      else socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };

    const onInput = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const at = bytes.indexOf(DETACH_BYTE);
      if (at < 0) {
        socket.write(bytes);
        return;
      }
      if (at > 0) socket.write(bytes.subarray(0, at));
      finish('detached');
    };

    // Input that ends (a pipe, not a terminal) detaches too.
    const onEnd = (): void => finish('detached');

    socket.once('connect', () => {
      attached = true;
      if (stdin.isTTY && stdin.setRawMode) stdin.setRawMode(true);
      socket.pipe(stdout, { end: false });
      stdin.on('data', onInput);
      stdin.once('end', onEnd);
      stdin.resume();
    });
    socket.once('close', () => finish('closed'));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (attached) return finish('closed');
      const notRunning = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
      finish(
        new UserError(
          notRunning
            ? `cannot attach to the console ${socketPath}: the VM is not running (${error.code})`
            : `cannot attach to the console ${socketPath}: ${error.message}`,
        ),
      );
    });
  });
}
