/**
 * The demo data center (`yagura dc demo`, `npm start`): a session brought up
 * as dctest brings one up, then a guide to looking at it, and then it stays
 * until Ctrl-C or SIGTERM, which remove everything.
 */
import { join } from 'node:path';
import type { SitePlan } from '../fabric/index.js';
import { UserError } from '../lib/errors.js';
import { processAlive } from '../vdc/lifecycle.js';
import { DEFAULT_RUN_ROOT, readState } from '../vdc/run-dir.js';
import { Session, type SessionOptions } from './session.js';

/**
 * What to type to look at the running demo: `yagura` is the words that run
 * this CLI; a run root other than the default is given with each command.
 */
export function demoGuide(site: SitePlan, runDir: string, yagura: string, runRoot: string): string {
  const boot = site.core[0]!.name;
  const vm = site.machines.find((machine) => machine.kind === 'vm' && !machine.boot);
  const tor = site.racks[0]!.tors[0].name;
  const dc = runRoot === DEFAULT_RUN_ROOT ? `${yagura} dc` : `YAGURA_DC_RUN_ROOT=${runRoot} ${yagura} dc`;
  const step = (what: string, command: string) => [`  # ${what}`, `  ${command}`];
  const lines = [
    '',
    `The demo data center "${site.name}" is up: ${site.racks.length} racks, ${site.spines.length} spines, ${site.machines.length} servers, every BGP session Established.`,
    '',
    'Look at it from another terminal, as root:',
    ...step('its nodes, apps, VMs and BMCs', `${dc} status ${site.name}`),
    ...step(`the inventory, from boot server ${boot}`, `${dc} exec ${boot} -- ${yagura} machines get`),
    ...step('the DHCP leases the boot servers gave', `${dc} exec ${boot} -- ${yagura} dhcp leases`),
    ...step(`${tor}'s BGP sessions`, `${dc} exec ${tor} -- birdc -s ${join(runDir, `bird-${tor}.ctl`)} show protocols`),
    ...(vm ? step(`${vm.name}'s serial console, where it netbooted (Ctrl-] detaches)`, `${dc} console ${vm.name}`) : []),
    ...step('a picture of the topology', `${dc} graph --dc ${site.name} --out ${site.name}.html --no-open`),
    '',
    'Stop it with Ctrl-C here: that removes everything it made.',
    '',
  ];
  return lines.join('\n');
}

export async function runDemo(options: SessionOptions, print: (text: string) => void): Promise<void> {
  const session = await Session.open(options);
  try {
    const ctx = await session.bringUp();
    print(demoGuide(ctx.site, ctx.paths.runDir, options.yagura.join(' '), options.runRoot));
    // Signal handlers alone do not keep Node running: the interval does, and it notices a supervisor that died.
    let watch: NodeJS.Timeout | undefined;
    try {
      await session.race(
        new Promise<never>((_, reject) => {
          watch = setInterval(() => {
            void readState(ctx.paths).then((state) => {
              if (!state?.supervisorPid || !processAlive(state.supervisorPid))
                reject(new UserError(`the data center's supervisor exited; see ${ctx.paths.supervisorLog}`));
            });
          }, 2000);
        }),
      );
    } finally {
      clearInterval(watch);
    }
  } catch (error) {
    if (!(error instanceof UserError && error.exitCode === 130)) throw error;
    options.progress('stopping');
  } finally {
    await session.close(false);
  }
}
