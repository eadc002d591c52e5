/**
 * `yagura dc generate SPEC -o DIR`: a rack-standard site spec becomes the
 * virtual DC's topology, the IPAM config, the machines file, BIRD configs and
 * init scripts (docs/site-spec.md). The files are written to a temp dir next
 * to DIR and renamed into place, so DIR holds either the old files or all of
 * the new ones; a DIR this verb did not write is refused unless --force.
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Command } from 'commander';
import { generateSite, parseSiteSpec, summarize, type GeneratedFile } from '../../fabric/index.js';
import { UserError } from '../../lib/errors.js';
import { GENERATED_MARKER as MARKER, writeGeneratedDir } from '../../lib/generated-dir.js';

export function generateVerb(): Command {
  return new Command('generate')
    .description('generate a whole site from a rack-standard site spec: topology, IPAM, machines, BIRD configs')
    .argument('<spec>', 'the site spec (YAML; docs/site-spec.md)')
    .requiredOption('-o, --out <dir>', 'the output directory (created; replaced when it holds an earlier output)')
    .option('--force', 'replace the output directory even if it was not written by dc generate (its files are lost)')
    .addHelpText(
      'after',
      `
Writes into DIR:
  dc.yml          the virtual data center (docs/dc-yaml.md): yagura dc up DIR/dc.yml --name SITE
                  (its boot servers run etcd, one cluster, and yagura serve on it: docs/site-spec.md)
  ipam.json       the address plan: yagura ipam set -f DIR/ipam.json
  machines.json   every server: yagura machines create -f DIR/machines.json
  bird/NODE.conf  BIRD 2 for every spine, ToR and netns boot server
  init/NODE.sh    node0 (the announced /32) of every netns boot server
  ignitions/ROLE.json  the Ignition template of each server role (network + BIRD), applied by
                  the node OS (VM servers) and yagura node join (netns servers):
                  yagura ignitions set ROLE ID -f DIR/ignitions/ROLE.json
and prints the racks and every server's addresses. The same spec always gives
byte-identical files; a DIR that already holds them is left alone.

Example:
  yagura dc generate test/fixtures/fabric/4racks.yml -o /tmp/dctest
  sudo yagura dc up /tmp/dctest/dc.yml --name dctest`,
    )
    .action(async (specPath: string, flags: { out: string; force?: boolean }) => {
      let text: string;
      try {
        text = await readFile(specPath, 'utf8');
      } catch (error) {
        throw new UserError(`cannot read the site spec ${specPath}: ${(error as Error).message}`);
      }
      const site = generateSite(parseSiteSpec({ path: specPath, text }));
      const files: GeneratedFile[] = [
        ...site.files,
        {
          path: MARKER,
          content: `site ${site.plan.name}: written by yagura dc generate from ${basename(specPath)}\n`,
          mode: 0o644,
        },
      ];
      const outcome = await writeGeneratedDir(resolve(flags.out), files, flags.force === true);
      process.stdout.write(summarize(site.plan));
      process.stdout.write(
        `\n${outcome === 'unchanged' ? 'unchanged' : 'wrote'} ${files.length - 1} files in ${flags.out}; start it with:\n  sudo yagura dc up ${join(flags.out, 'dc.yml')} --name ${site.plan.name}\n`,
      );
    });
}
