/** `yagura dc demo` (`npm start`): the demo data center, netbooted and routing, until Ctrl-C. */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { UserError } from '../../lib/errors.js';
import { rootsOf, selfEntry, type RootFlags } from './common.js';
import { readDcEnvironment } from './environment.js';

const DEMO_SITE = fileURLToPath(new URL('../../../sites/demo.yml', import.meta.url));
const HOST_PACKAGES = fileURLToPath(new URL('../../../scripts/host-packages.sh', import.meta.url));

export function demoVerb(): Command {
  return new Command('demo')
    .description('bring up the demo data center (2 racks, boot servers, a netbooted VM) and keep it until Ctrl-C')
    .option('--name <name>', "the data center's name", 'demo')
    .option('--timeout <minutes>', 'give up bringing it up after this many minutes', '10')
    .addHelpText(
      'after',
      `
Installs the Debian packages it needs (scripts/host-packages.sh), builds the
node OS image, generates sites/demo.yml, brings it up, loads the boot servers,
powers the VM on through its BMC and waits until it has netbooted and every
BGP session is Established; then prints how to look at it. Ctrl-C (or SIGTERM)
removes everything. Needs root: \`sudo npm start\` or \`sudo yagura dc demo\`.`,
    )
    .action(async (flags: RootFlags & { name: string; timeout: string }) => {
      if (process.getuid?.() !== 0)
        throw new UserError(
          'the demo data center needs root (network namespaces, bridges, taps, Debian packages): run `sudo npm start` or `sudo yagura dc demo`',
        );
      const minutes = Number(flags.timeout);
      if (!Number.isFinite(minutes) || minutes <= 0) throw new UserError('--timeout must be a number of minutes, e.g. 10', 2);
      process.stderr.write('checking the Debian packages (scripts/host-packages.sh) …\n');
      try {
        execFileSync('bash', [HOST_PACKAGES], { stdio: ['ignore', 'inherit', 'inherit'] });
      } catch {
        throw new UserError('installing the Debian packages failed (see above): the demo needs them');
      }
      const { runDemo } = await import('../../dctest/demo.js');
      const started = Date.now();
      await runDemo(
        {
          spec: { path: DEMO_SITE, text: await readFile(DEMO_SITE, 'utf8') },
          name: flags.name,
          timeoutMs: minutes * 60_000,
          ...rootsOf(flags),
          tools: readDcEnvironment().tools,
          yagura: selfEntry(),
          progress: (message) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`),
        },
        (text) => process.stdout.write(text),
      );
    });
}
