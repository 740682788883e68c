import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoDir } from '../../repo-root.js';
import { buildOpenApi } from './openapi.js';


test('docs/api/openapi.json matches the served OpenAPI description (regenerate: node scripts/gen-openapi.mjs)', () => {
  const file = join(repoDir('docs/api'), 'docs', 'api', 'openapi.json');
  assert.ok(existsSync(file), `${file} is missing`);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), JSON.parse(JSON.stringify(buildOpenApi())));
});
