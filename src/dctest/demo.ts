/**
 * The demo data center (`yagura dc demo`, `npm start`): a session brought up
 * as dctest brings one up, then a guide to looking at it, and then it stays
 * until Ctrl-C or SIGTERM, which remove everything.
 */
import { join } from 'node:path';
import type { SitePlan } from '../fabric/index.js';
import { UserError } from '../lib/errors.js';
import { Session, type SessionOptions } from './session.js';

/** What to type to look at the running demo; `yagura` is the words that run this CLI. */
export function demoGuide(site: SitePlan, runDir: string, yagura: string): string {
  const boot = site.core[0]!.name;
  const vm = site.machines.find((machine) => machine.kind === 'vm' && !machine.boot);
  const tor = site.racks[0]!.tors[0].name;
  const lines = [
    '',
    `The demo data center "${site.name}" is up: ${site.racks.length} racks, ${site.spines.length} spines, ${site.machines.length} servers, every BGP session Established.`,
    '',
    'Look at it from another terminal (as root):',
    `  ${yagura} dc status ${site.name}                                  nodes, apps, VMs and their BMCs`,
    `  ${yagura} dc exec ${boot} -- ${yagura} machines get        the inventory`,
    `  ${yagura} dc exec ${boot} -- ${yagura} dhcp leases         the DHCP leases`,
    `  ${yagura} dc exec ${tor} -- birdc -s ${join(runDir, `bird-${tor}.ctl`)} show protocols`,
    ...(vm ? [`  ${yagura} dc console ${vm.name}                            ${vm.name}'s serial console (Ctrl-] detaches)`] : []),
    `  ${yagura} dc graph ${site.name} -o ${site.name}.html                     a picture of the topology`,
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
    print(demoGuide(ctx.site, ctx.paths.runDir, options.yagura.join(' ')));
    await session.race(new Promise<never>(() => {}));
  } catch (error) {
    if (!(error instanceof UserError && error.exitCode === 130)) throw error;
    options.progress('stopping');
  } finally {
    await session.close(false);
  }
}
