/**
 * Checking an Ignition config with the real validator, ignition-validate from
 * Debian's ignition package, fed on stdin; its report is parsed (pure) into
 * problems that carry a JSON pointer where the validator gives a location.
 */
import { spawn } from 'node:child_process';
import { unavailable } from '../../lib/errors.js';

export const IGNITION_VALIDATE = '/usr/bin/ignition-validate';

export interface ValidationProblem {
  severity: 'error' | 'warning' | 'info';
  /** Where in the config, as a JSON pointer ("/storage/files/0/path"), when the validator says. */
  pointer?: string;
  /** The validator's own line, verbatim. */
  message: string;
}

export interface ValidationReport {
  valid: boolean;
  problems: ValidationProblem[];
}

/** Validates one config document (JSON text). */
export type IgnitionValidator = (config: string) => Promise<ValidationReport>;

const MAX_OUTPUT = 64 * 1024;

export function ignitionValidator(path = IGNITION_VALIDATE, timeoutMs = 10_000): IgnitionValidator {
  return (config) =>
    new Promise((resolve, reject) => {
      const child = spawn(path, ['-'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      let output = '';
      const collect = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(0, MAX_OUTPUT));
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          error.code === 'ENOENT' ? unavailable(`${path} is missing on this server: install Debian's ignition package`) : error,
        );
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        if (timedOut) reject(unavailable(`${path} did not finish within ${timeoutMs} ms`));
        else resolve(parseValidatorOutput(output, code ?? 1));
      });
      // The validator may exit before reading everything; that is not our error.
      child.stdin.on('error', () => {});
      child.stdin.end(config);
    });
}

/** ignition-validate's output and exit code as a report. */
export function parseValidatorOutput(output: string, exitCode: number): ValidationReport {
  const problems = output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line): ValidationProblem => {
      const located = /^(error|warning|info) at (.*?): /.exec(line);
      if (!located) return { severity: exitCode === 0 ? 'warning' : 'error', message: line };
      const path = /^\$[^,\s]*/.exec(located[2]!)?.[0];
      const severity = located[1] as ValidationProblem['severity'];
      return path === undefined ? { severity, message: line } : { severity, pointer: pointerOf(path), message: line };
    });
  const valid = exitCode === 0 && !problems.some((p) => p.severity === 'error');
  if (!valid && problems.length === 0)
    problems.push({ severity: 'error', message: `ignition-validate failed (exit code ${exitCode})` });
  return { valid, problems };
}

/** "$.storage.files.0.path" → "/storage/files/0/path" */
function pointerOf(path: string): string {
  return path
    .slice(1)
    .split('.')
    .filter(Boolean)
    .map((step) => `/${step.replaceAll('~', '~0').replaceAll('/', '~1')}`)
    .join('');
}
