import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Modules meant to be pure: decisions and codecs with no I/O, so that unit
 * tests drive them with plain values (ARCHITECTURE.md, "Pure core, thin
 * shell"). They may not import the file system, processes, sockets, HTTP,
 * fastify or the store (types from the store are fine). Every future
 * decide/plan module and the whole fabric room are pure by their name.
 */
export const PURE_MODULES = [
  'src/inventory/ipam.ts',
  'src/inventory/states.ts',
  'src/inventory/registration.ts',
  'src/inventory/search.ts',
  'src/boot/dhcp/codec-errors.ts',
  'src/boot/dhcp/describe-packet.ts',
  'src/boot/dhcp/lease-view.ts',
  'src/boot/dhcp/hardware-address.ts',
  'src/boot/dhcp/option-stream.ts',
  'src/boot/dhcp/options.ts',
  'src/boot/dhcp/packet.ts',
  'src/boot/dhcp/policy.ts',
  'src/boot/dhcp/reply.ts',
  'src/boot/byte-range.ts',
  'src/boot/image-model.ts',
  'src/boot/asset-model.ts',
  'src/boot/sync-plan.ts',
  'src/boot/ipxe.ts',
  'src/boot/kernel-params.ts',
  'src/boot/templates/evaluate.ts',
  'src/boot/templates/parse.ts',
  'src/boot/templates/render.ts',
  'src/vdc/spec/**',
  'src/vdc/plan.ts',
  'src/vdc/growth-plan.ts',
  'src/vdc/addresses.ts',
  'src/vdc/names.ts',
  'src/vdc/netem.ts',
  'src/vdc/units.ts',
  'src/vdc/graph/model.ts',
  'src/vdc/graph/layout.ts',
  'src/vdc/graph/dot.ts',
  'src/vdc/graph/mermaid.ts',
  'src/vdc/graph/html.ts',
  'src/fabric/**',
  'src/node/network-conf.ts',
  'src/node/ignition-files.ts',
  'src/dctest/readings.ts',
  'src/dctest/agreement.ts',
  'src/dctest/report.ts',
  'src/lib/serf-codec.ts',
  'src/health/hardware-rules.ts',
  'src/vdc/bmc/hardware.ts',
  'src/vdc/bmc/redfish/hardware-resources.ts',
  'src/vdc/bmc/redfish/account-resources.ts',
  'src/vdc/supervisor/hardware-faults.ts',
  'src/**/decide*.ts',
  'src/**/*-plan.ts',
  'src/**/plan.ts',
];

const IO_MODULES = [
  'fs',
  'fs/promises',
  'child_process',
  'dgram',
  'net',
  'http',
  'https',
  'http2',
  'tls',
  'worker_threads',
].flatMap((name) => [name, `node:${name}`]);

const pureRule = {
  '@typescript-eslint/no-restricted-imports': [
    'error',
    {
      paths: [
        ...IO_MODULES.map((name) => ({ name, message: 'a pure module does no I/O: take the data as an argument' })),
        ...['better-sqlite3', 'etcd3', 'undici'].map((name) => ({
          name,
          message: 'a pure module does no I/O: the API, store and HTTP clients stay at the edges',
        })),
      ],
      patterns: [
        {
          group: ['**/store/*', '!**/store/interface.js', '!**/store/errors.js', '!**/store/codec.js'],
          allowTypeImports: true,
          message: 'a pure module does not use the store: take what it read as an argument (types are fine)',
        },
        {
          group: ['fastify', 'fastify-*', '@fastify/*'],
          message: 'a pure module does not use fastify: the API stays at the edge',
        },
      ],
    },
  ],
};

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  { files: PURE_MODULES, rules: pureRule },
);
