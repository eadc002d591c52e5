/** (internal) `yagura dc supervise`: the DC's supervisor process, which `dc up` starts inside the DC's namespace. */
import { Command } from 'commander';

export function superviseVerb(): Command {
  return new Command('supervise')
    .description("(internal) the DC's supervisor, started by `dc up` inside the DC's namespace")
    .argument('<run-dir>')
    .action(async (runDir: string) => {
      const { runSupervisor } = await import('../../vdc/supervisor/supervisor.js');
      await runSupervisor(runDir);
    });
}
