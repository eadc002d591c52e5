/** `yagura dc <verb>`: build, inspect, drive and remove virtual data centers on this host. One file per verb. */
import { Command } from 'commander';
import { applyVerb } from './apply.js';
import { withRoots } from './common.js';
import { consoleVerb } from './console.js';
import { demoVerb } from './demo.js';
import { downVerb } from './down.js';
import { execVerb } from './exec.js';
import { faultVerb } from './fault.js';
import { forwardAgentVerb, forwardVerb } from './forward.js';
import { generateVerb } from './generate.js';
import { graphVerb } from './graph.js';
import { netemVerb } from './netem.js';
import { powerVerb } from './power.js';
import { statusVerb } from './status.js';
import { superviseVerb } from './supervise.js';
import { upVerb } from './up.js';

export function dcCommand(): Command {
  const group = new Command('dc')
    .description('virtual data centers on this host: networks, BGP routers, lightweight nodes and VMs with BMCs, from YAML')
    .addHelpText(
      'after',
      `
Examples:
  yagura dc up cluster.yml              build and start it (the name is the file's: "cluster")
  yagura dc apply cluster.yml           add what the file gained to the running "cluster" (additions only)
  yagura dc status                      every running data center
  yagura dc exec rack0-tor1 -- birdc show protocols
  yagura dc power boot-0 cycle          through the node's virtual BMC
  yagura dc fault rack0-cs1 drive0      break a drive (its BMC reports it Critical); --mend repairs it
  yagura dc down cluster                remove everything, also after a crash
  yagura dc generate site.yml -o site   a whole rack-standard site from a short spec (no root needed)
  yagura dc demo                        the demo site, netbooted and routing, until Ctrl-C (npm start)

The topology format is docs/dc-yaml.md. Each data center lives in its own network
namespace (yg-NAME); nothing is added to the host's namespace. Needs root.`,
    );
  const verbs = [
    upVerb(),
    applyVerb(),
    downVerb(),
    statusVerb(),
    powerVerb(),
    faultVerb(),
    consoleVerb(),
    execVerb(),
    forwardVerb(),
    netemVerb(),
    graphVerb(),
    demoVerb(),
  ];
  for (const verb of verbs) group.addCommand(withRoots(verb).exitOverride().showHelpAfterError('(run with --help for usage)'));
  // Writes files only: no run or data roots.
  group.addCommand(generateVerb().exitOverride().showHelpAfterError('(run with --help for usage)'));
  // Internal: the processes `dc up` and `dc forward` start.
  for (const verb of [superviseVerb(), forwardAgentVerb()]) group.addCommand(verb.exitOverride(), { hidden: true });
  return group;
}
