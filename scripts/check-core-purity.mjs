#!/usr/bin/env node
// Dependency check behind `npm run lint`: every import under src/core must resolve inside src/core.
// ESLint's rules catch node:* and globals; this catches relative paths that climb out of the core
// (e.g. '../../dataplane/x.js') and bare package imports, which the core must not have.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve, dirname, relative } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const core = join(root, 'src', 'core');
const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;
const problems = [];

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) check(p);
  }
}
function check(file) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    const line = text.slice(0, m.index).split('\n').length + (text[m.index] === '\n' ? 1 : 0);
    const where = `${relative(root, file)}:${line}`;
    if (!spec.startsWith('.')) { problems.push(`${where}: imports '${spec}': src/core may import only files inside src/core`); continue; }
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(core + '/')) problems.push(`${where}: imports '${spec}', which is outside src/core`);
  }
}
walk(core);
if (problems.length) {
  console.error(`core purity check failed (${problems.length}):\n` + problems.join('\n'));
  process.exit(1);
}
console.log('core purity check: ok');
