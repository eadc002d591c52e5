/** The connection flags every client verb takes (--server, --cacert) and the command groups built from such verbs. */
import { Command, InvalidArgumentError, Option } from 'commander';

export const DEFAULT_SERVER = 'http://127.0.0.1:10080';

export interface ServerFlags {
  server: URL;
  cacert?: string;
}

/**
 * Gives a verb the connection flags and makes its usage errors exit 2 like the
 * top-level ones (subcommands added with addCommand do not inherit that).
 */
export function serverCommand(command: Command): Command {
  return command
    .addOption(
      new Option('--server <url>', 'URL of the Yagura server (http:// or https://)')
        .default(new URL(DEFAULT_SERVER), DEFAULT_SERVER)
        .env('YAGURA_SERVER')
        .argParser(parseServerUrl),
    )
    .addOption(
      new Option('--cacert <file>', 'CA certificate (PEM) to trust for an https:// --server signed by a private CA').env(
        'YAGURA_CACERT',
      ),
    )
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
}

/** A command group (`yagura <group> <verb>`) whose verbs all talk to the server. */
export function commandGroup(name: string, description: string, verbs: Command[]): Command {
  const group = new Command(name).description(description);
  for (const verb of verbs) group.addCommand(serverCommand(verb));
  return group;
}

function parseServerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('must be a URL such as http://127.0.0.1:10080 or https://boot-0:10443');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError(`must be an http:// or https:// URL, not ${url.protocol}`);
  return url;
}
