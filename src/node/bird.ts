/**
 * BIRD in the foreground with the node's bird.conf: the last step of a join
 * and the process that stays. SIGTERM and SIGINT are passed on to it, and its
 * exit status becomes node join's.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { constants } from 'node:os';
import { dirname } from 'node:path';

export interface BirdRun {
  bird: string;
  config: string;
  socket: string;
  /** Called once BIRD has started, with its PID. */
  started: (pid: number) => void;
}

/** Resolves with BIRD's exit status (128 + the signal's number when a signal ended it). */
export async function runBird(options: BirdRun): Promise<number> {
  await mkdir(dirname(options.socket), { recursive: true });
  const child = spawn(options.bird, ['-f', '-c', options.config, '-s', options.socket], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const onTerm = forward('SIGTERM');
  const onInt = forward('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (error) => reject(new Error(`cannot run ${options.bird}: ${error.message}`)));
      child.once('spawn', () => options.started(child.pid!));
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}
