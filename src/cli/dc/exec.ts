/** `yagura dc exec`: run a command inside a router or netns node's network namespace. */
import { spawn } from 'node:child_process';
import { Command } from 'commander';
import { UserError } from '../../lib/errors.js';
import { memberNamespace } from '../../vdc/names.js';
import { pickDc, status } from '../../vdc/lifecycle.js';
import { dcOption, rootsOf, type RootFlags } from './common.js';
import { readDcEnvironment } from './environment.js';

export function execVerb(): Command {
  return new Command('exec')
    .description('run a command inside a router or netns node (its network namespace)')
    .argument('<node>', 'a NetworkNamespace or netns node')
    .argument('<command...>', 'the command and its arguments (put -- before it)')
    .addOption(dcOption())
    .action(async (node: string, command: string[], flags: RootFlags & { dc?: string }) => {
      const dc = await pickDc(flags.dc, rootsOf(flags));
      const s = await status(dc, rootsOf(flags));
      if (!s) throw new UserError(`no data center named "${dc}" is running`);
      if (s.topology.nodes.some((n) => n.name === node && n.type === 'vm'))
        throw new UserError(`${node} is a VM: it has no namespace to enter; use \`yagura dc console ${node}\``);
      if (!s.plan.members.some((m) => m.member === node))
        throw new UserError(`no router or netns node "${node}" in data center "${dc}"`);
      const child = spawn(readDcEnvironment().tools.ip, ['netns', 'exec', memberNamespace(dc, node), ...command], {
        stdio: 'inherit',
      });
      const code = await new Promise<number>((resolve) => {
        child.once('error', (error) => {
          process.stderr.write(`yagura: ${error.message}\n`);
          resolve(1);
        });
        child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
      });
      process.exitCode = code;
    });
}
