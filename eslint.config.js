// Lint: typescript-eslint's recommended rules everywhere, plus the layering rule that
// keeps src/core pure (no node:* modules, no I/O, no wall clock, no timers).
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises',
  'http', 'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'tls', 'url', 'util',
  'worker_threads', 'zlib', 'timers', 'v8', 'vm',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'web/vendor/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: NODE_BUILTINS.map((name) => ({ name, message: 'src/core is pure: no Node built-in modules.' })),
        patterns: [
          { group: ['node:*'], message: 'src/core is pure: no node:* modules (inject an adapter instead).' },
          { group: ['**/dataplane/**', '**/control/**', '**/cli/**', '**/bin/**'], message: 'src/core must not import outer layers.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'src/core has no timers: drive time through the injected Clock.' },
        { name: 'setInterval', message: 'src/core has no timers: drive time through the injected Clock.' },
        { name: 'setImmediate', message: 'src/core has no timers.' },
        { name: 'process', message: 'src/core must not touch the process.' },
        { name: 'require', message: 'src/core is ESM and pure.' },
        { name: 'fetch', message: 'src/core does no I/O.' },
        { name: 'console', message: 'src/core does not log: count, and let adapters report.' },
        { name: 'Buffer', message: 'src/core uses Uint8Array, not Node Buffer.' },
      ],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'src/core has no wall clock: use the injected Clock.' },
        { object: 'Math', property: 'random', message: 'src/core takes randomness from an injected source.' },
        { object: 'performance', property: 'now', message: 'src/core has no wall clock.' },
      ],
      'no-restricted-syntax': ['error',
        { selector: "NewExpression[callee.name='Date']", message: 'src/core has no wall clock: use the injected Clock.' },
        { selector: 'ImportExpression', message: 'src/core does not load modules dynamically.' },
      ],
    },
  },
);
