/** (internal) `yagura dc supervise`: the DC's supervisor process, which `dc up` starts inside the DC's namespace. */
import { Command } from 'commander';
import { selfEntry } from './common.js';
import { readDcEnvironment } from './environment.js';

export function superviseVerb(): Command {
  return new Command('supervise')
    .description("(internal) the DC's supervisor, started by `dc up` inside the DC's namespace")
    .argument('<run-dir>')
    .action(async (runDir: string) => {
      const { runSupervisor } = await import('../../vdc/supervisor/supervisor.js');
      // The supervisor's environment is `dc up`'s (plus its mark): it reads the same YAGURA_* variables here.
      const { tools, accel, bmcPorts, powerOnVms } = readDcEnvironment();
      // ${YAGURA} in app commands runs this same CLI: the supervisor is started with `dc up`'s own entry.
      await runSupervisor(runDir, { tools, ...(accel ? { accel } : {}), bmcPorts, yagura: selfEntry(), powerOnVms });
    });
}
