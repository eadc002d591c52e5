/** `yagura dctest [SPEC]`: a whole data center from a site spec, brought up, netbooted and proven end to end (docs/dctest.md). */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { checkRows, phaseRows, seconds, type DctestReport } from '../dctest/report.js';
import { UserError } from '../lib/errors.js';
import { parseDuration } from '../lib/duration.js';
import { requireRoot, rootsOf, selfEntry, withRoots, type RootFlags } from './dc/common.js';
import { readDcEnvironment } from './dc/environment.js';
import { formatTable, type OutputFormat, outputOption } from './table.js';

export const DEFAULT_SITE = fileURLToPath(new URL('../../sites/dctest.yml', import.meta.url));

interface DctestFlags extends RootFlags {
  name?: string;
  keep?: boolean;
  addRack: boolean;
  output: OutputFormat;
  out?: string;
  timeout: string;
}

export function dctestCommand(): Command {
  return withRoots(
    new Command('dctest')
      .description('generate a site, bring it up as a virtual DC, netboot every server and check it end to end')
      .argument('[spec]', 'the site spec (docs/site-spec.md)', DEFAULT_SITE)
      .option('--name <name>', "the data center's name (default: the spec's)")
      .option('--keep', 'leave the data center up afterwards, for a look (yagura dc status; yagura dc down NAME removes it)')
      .option('--no-add-rack', 'skip the live rack add (the last check)')
      .addOption(outputOption())
      .option('--out <file>', 'also write the JSON report to this file')
      .addOption(new Option('--timeout <duration>', 'give up (and clean up) after this long').default('15m'))
      .addHelpText(
        'after',
        `
Phases, each printed on stderr with its time as it ends:
  node OS       build the node OS image (images/build-node-os.sh; cached)
  generate      yagura dc generate SPEC into a temp dir
  DC up         yagura dc up, VMs left off
  boot servers  every boot server's yagura serve answers on its etcd cluster
  load          IPAM, machines, Ignition templates, the image, kernel params (the CLI, in a boot server)
  power on      every VM server through its BMC: ipmitool (IPMI) or dc power (Redfish)
  netboot       VMs by UEFI HTTP Boot or the iPXE ROM; netns servers by yagura node join
  BGP           every session of every BIRD Established
Checks, then a pass/fail table on stdout:
  reachability  every server's node0 from a server in every other rack
  ECMP          every node0 over both ToRs of its rack (spines) and of the prober's
  agreement     the DHCP leases, the inventory and the DC agree
  ToR failover  one ToR down for 8 s: lost pings at 100 ms, longest outage (BFD)
  add rack      one more rack applied live (dc apply); pings between racks lose nothing
Exit 0 only when every phase ran and every check passed. Needs root. The DC and
the generated files are removed afterwards (also on failure or Ctrl-C) unless --keep.

Examples:
  sudo yagura dctest                          the default 2-rack site (${'sites/dctest.yml'})
  sudo yagura dctest bench/dctest/sites/4racks.yml --no-add-rack -o json`,
      ),
  ).action(async (specPath: string, flags: DctestFlags) => {
    requireRoot();
    let text: string;
    try {
      text = await readFile(specPath, 'utf8');
    } catch (error) {
      throw new UserError(`cannot read the site spec ${specPath}: ${(error as Error).message}`);
    }
    const { runDctest } = await import('../dctest/run.js');
    const started = Date.now();
    const report = await runDctest({
      spec: { path: specPath, text },
      ...(flags.name ? { name: flags.name } : {}),
      keep: flags.keep === true,
      addRack: flags.addRack,
      timeoutMs: parseDuration(flags.timeout, '--timeout'),
      ...rootsOf(flags),
      tools: readDcEnvironment().tools,
      yagura: selfEntry(),
      progress: (message) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`),
    });
    if (flags.out) await writeFile(flags.out, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(
      flags.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : render(report, flags.addRack ? [] : ['add rack']),
    );
    process.exitCode = report.passed ? 0 : 1;
  });
}

function render(report: DctestReport, skipped: string[]): string {
  const lines = [
    `dctest ${report.dc}: ${report.racks} racks, ${report.spines} spines, ${report.servers} servers (${report.vms} VMs)`,
    '',
    formatTable(['PHASE', 'TIME', 'RESULT', 'DETAIL'], phaseRows(report)),
    formatTable(['CHECK', 'TIME', 'RESULT', 'DETAIL'], checkRows(report, skipped)),
  ];
  if (report.error) lines.push(`stopped: ${report.error}\n`);
  if (report.kept)
    lines.push(
      `kept: yagura dc status ${report.kept.dc}; remove it with yagura dc down ${report.kept.dc} --purge (files in ${report.kept.dir})\n`,
    );
  lines.push(`${report.passed ? 'PASS' : 'FAIL'} in ${seconds(report.totalMs)}\n`);
  return lines.join('\n');
}
