#!/usr/bin/env node
/** The `yagura` command: one entry point, one file per command group. */
import './warnings.js';
import { Command, CommanderError } from 'commander';
import { UserError } from '../lib/errors.js';
import { VERSION } from '../lib/version.js';
import { StoreError } from '../store/errors.js';
import { assetsCommand } from './assets.js';
import { dhcpCommand, ipamCommand } from './config.js';
import { cryptsCommand } from './crypts.js';
import { dcCommand } from './dc.js';
import { ignitionsCommand } from './ignitions.js';
import { imagesCommand } from './images.js';
import { kernelParamsCommand } from './kernel-params.js';
import { logsCommand } from './logs.js';
import { machinesCommand } from './machines.js';
import { serveCommand } from './serve.js';
import { tokenCommand } from './token.js';

const program = new Command('yagura')
  .description(
    'Yagura runs a data center the NoOps way: netboot, rack-derived addresses, BGP, lifecycle, and a virtual DC to test it all.',
  )
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .addCommand(serveCommand())
  .addCommand(machinesCommand())
  .addCommand(ipamCommand())
  .addCommand(dhcpCommand())
  .addCommand(logsCommand())
  .addCommand(cryptsCommand())
  .addCommand(imagesCommand())
  .addCommand(assetsCommand())
  .addCommand(ignitionsCommand())
  .addCommand(kernelParamsCommand())
  .addCommand(tokenCommand())
  .addCommand(dcCommand());

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
  if (error instanceof UserError || error instanceof StoreError) {
    process.stderr.write(`yagura: ${error.message}\n`);
    return error instanceof UserError ? error.exitCode : 1;
  }
  process.stderr.write(`yagura: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
  return 1;
}
