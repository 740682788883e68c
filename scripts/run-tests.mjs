#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node's built-in test runner.
// Arguments filter by substring of the path: `node scripts/run-tests.mjs sched conn`.
// Unit tests sit beside the source (src/**/x.test.ts); end-to-end tests under test/.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const dist = new URL('../dist/', import.meta.url).pathname;
if (!existsSync(dist)) { console.error('dist/ is missing: run `npm run build` first'); process.exit(1); }
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (name !== 'node_modules') walk(p); }
    else if (p.endsWith('.test.js')) files.push(p);
  }
})(dist);
const filters = process.argv.slice(2);
const chosen = files.filter((f) => filters.length === 0 || filters.some((s) => relative(dist, f).includes(s))).sort();
if (chosen.length === 0) { console.error('no test files matched'); process.exit(1); }
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...chosen], { stdio: 'inherit' });
process.exit(r.status ?? 1);
