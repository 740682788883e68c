import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApi } from './openapi.js';

/** The repository root: the nearest directory above with a package.json (dist/ has none), else the cwd. */
function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(d, 'package.json'))) return d;
    const up = dirname(d);
    if (up === d) return process.cwd();
    d = up;
  }
}

test('docs/api/openapi.json matches the served OpenAPI description (regenerate: node scripts/gen-openapi.mjs)', () => {
  const file = join(repoRoot(), 'docs', 'api', 'openapi.json');
  assert.ok(existsSync(file), `${file} is missing`);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), JSON.parse(JSON.stringify(buildOpenApi())));
});
