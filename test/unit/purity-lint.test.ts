/**
 * The purity fence (eslint.config.js, PURE_MODULES) really fails an I/O
 * import in a pure module, and lets the same import through in an I/O module.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const eslint = new ESLint();

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

const IO_IMPORTS = `import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import Fastify from 'fastify';
import { openStore } from '../store/factory.js';
export const used = [readFileSync, spawn, createSocket, Fastify, openStore];
`;

describe('the purity fence', () => {
  it('fails every I/O import in a pure module: IPAM, DHCP policy, topology spec, a future decide or fabric module', async () => {
    for (const file of [
      'src/inventory/ipam.ts',
      'src/boot/dhcp/policy.ts',
      'src/vdc/spec/checks.ts',
      'src/health/decide-states.ts',
      'src/fabric/bird.ts',
    ]) {
      const found = await problems(file, IO_IMPORTS);
      const flagged = found.map((p) => /'([^']+)' import is restricted/.exec(p)?.[1]);
      assert.deepEqual(flagged, ['node:fs', 'node:child_process', 'node:dgram', 'fastify', '../store/factory.js'], file);
      assert.ok(
        found.every((p) => p.startsWith('@typescript-eslint/no-restricted-imports: ')),
        found.join('\n'),
      );
      assert.match(found[0]!, /'node:fs' import is restricted.*a pure module does no I\/O/);
    }
  });

  it('lets a pure module import the store types, and an edge module do I/O', async () => {
    assert.deepEqual(
      await problems(
        'src/inventory/ipam.ts',
        `import type { Store } from '../store/interface.js';\nexport const f = (s: Store) => s;\n`,
      ),
      [],
    );
    assert.deepEqual(await problems('src/boot/dhcp/server.ts', IO_IMPORTS), []);
  });
});
