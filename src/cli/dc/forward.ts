/** `yagura dc forward`: a host loopback port to a node's port, and (internal) its agent inside the namespace. */
import { Command } from 'commander';
import { pickDc } from '../../vdc/lifecycle.js';
import { forwardPort, runForwardAgent } from '../../vdc/forward.js';
import { dcOption, port, rootsOf, selfEntry, type RootFlags } from './common.js';
import { readDcEnvironment } from './environment.js';

export function forwardVerb(): Command {
  return new Command('forward')
    .description('forward a loopback port of the host to a port of a node (until Ctrl-C)')
    .argument('<local-port>', 'TCP port on 127.0.0.1', port)
    .argument('<target>', 'NODE:PORT (a router or netns node, its own loopback) or ADDRESS:PORT (reached from the DC namespace)')
    .addOption(dcOption())
    .action(async (localPort: number, target: string, flags: RootFlags & { dc?: string }) => {
      const dc = await pickDc(flags.dc, rootsOf(flags));
      await forwardPort({
        dc,
        roots: rootsOf(flags),
        localPort,
        target,
        entry: selfEntry(),
        tools: readDcEnvironment().tools,
        log: (line) => process.stderr.write(`${line}\n`),
      });
    });
}

export function forwardAgentVerb(): Command {
  return new Command('forward-agent')
    .description('(internal) the namespace side of `dc forward`')
    .argument('<socket>')
    .argument('<host>')
    .argument('<port>', 'port', port)
    .action(async (socket: string, host: string, targetPort: number) => {
      await runForwardAgent(socket, host, targetPort);
    });
}
