#!/usr/bin/env node
/** The `yagura` command: one entry point, one file per command group. */
import './warnings.js';
import { Command, CommanderError } from 'commander';
import { DomainError, UserError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';

/**
 * Command groups, loaded on demand: a command imports only its own group
 * (`yagura dc down` need not load the inventory's schemas or fastify); help
 * and unknown commands load them all.
 */
const GROUPS: Record<string, () => Promise<Command[]>> = {
  serve: async () => [(await import('./serve.js')).serveCommand()],
  machines: async () => [(await import('./machines.js')).machinesCommand()],
  ipam: async () => [(await import('./config.js')).ipamCommand()],
  dhcp: async () => [(await import('./config.js')).dhcpCommand()],
  logs: async () => [(await import('./logs.js')).logsCommand()],
  crypts: async () => [(await import('./crypts.js')).cryptsCommand()],
  bmc: async () => [(await import('./bmc.js')).bmcCommand()],
  repairs: async () => [(await import('./repairs.js')).repairsCommand()],
  images: async () => [(await import('./images.js')).imagesCommand()],
  assets: async () => [(await import('./assets.js')).assetsCommand()],
  ignitions: async () => [(await import('./ignitions.js')).ignitionsCommand()],
  'kernel-params': async () => [(await import('./kernel-params.js')).kernelParamsCommand()],
  token: async () => [(await import('./token.js')).tokenCommand()],
  dc: async () => [(await import('./dc/index.js')).dcCommand()],
  node: async () => [(await import('./node.js')).nodeCommand()],
  dctest: async () => [(await import('./dctest.js')).dctestCommand()],
};

const program = new Command('yagura')
  .description(
    'Yagura runs a data center the NoOps way: netboot, rack-derived addresses, BGP, lifecycle, and a virtual DC to test it all.',
  )
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

const named = GROUPS[process.argv[2] ?? ''];
const groups = named ? [named] : Object.values(GROUPS);
for (const commands of await Promise.all(groups.map((load) => load())))
  for (const command of commands) program.addCommand(command);

// Subcommands added with addCommand do not inherit these settings.
for (const command of program.commands) command.exitOverride().showHelpAfterError('(run with --help for usage)');

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its message; help and --version are not failures.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help')
      return 0;
    return 2;
  }
  // A refusal (bad input, a store that cannot be reached, ...) is one line; anything else is a bug and keeps its stack.
  if (error instanceof UserError || error instanceof DomainError) {
    process.stderr.write(`yagura: ${error.message}\n`);
    return error instanceof UserError ? error.exitCode : 1;
  }
  process.stderr.write(`yagura: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
  return 1;
}
