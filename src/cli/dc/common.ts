/** What the `dc` verbs share: the --run-root/--data-root and --dc flags, the root check, argument parsers. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../../lib/errors.js';
import type { Roots } from '../../vdc/lifecycle.js';
import { DEFAULT_DATA_ROOT, DEFAULT_RUN_ROOT } from '../../vdc/run-dir.js';
import type { Parsed } from '../../vdc/units.js';

export interface RootFlags {
  runRoot: string;
  dataRoot: string;
}

export function withRoots(command: Command): Command {
  return command
    .addOption(
      new Option('--run-root <dir>', 'where running data centers keep their state, sockets and logs')
        .env('YAGURA_DC_RUN_ROOT')
        .default(DEFAULT_RUN_ROOT),
    )
    .addOption(
      new Option('--data-root <dir>', 'where data centers keep volumes and NVRAM between runs')
        .env('YAGURA_DC_DATA_ROOT')
        .default(DEFAULT_DATA_ROOT),
    );
}

export function rootsOf(flags: RootFlags): Roots {
  return { runRoot: flags.runRoot, dataRoot: flags.dataRoot };
}

export function dcOption(): Option {
  return new Option('--dc <name>', 'the data center (default: the only one running)');
}

/** The command that starts this CLI again (the supervisor and forward agents are this same program). */
export function selfEntry(): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]!];
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new UserError('virtual data centers need root (network namespaces, bridges, taps): run with sudo');
}

export function port(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 65535) throw new InvalidArgumentError('must be a port number, 1–65535');
  return value;
}

export function unit(parse: (text: string) => Parsed<number>): (text: string) => number {
  return (text) => {
    const parsed = parse(text);
    if ('problem' in parsed) throw new InvalidArgumentError(parsed.problem);
    return parsed.value;
  };
}
