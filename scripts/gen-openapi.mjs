#!/usr/bin/env node
// Writes docs/api/openapi.json from the code's OpenAPI description (run after `npm run build`).
// A test (src/control/api/openapi-doc.test.ts) fails when the committed file is out of date.
import { writeFileSync } from 'node:fs';
const { buildOpenApi } = await import(new URL('../dist/src/control/api/openapi.js', import.meta.url).href);
writeFileSync(new URL('../docs/api/openapi.json', import.meta.url), JSON.stringify(buildOpenApi(), null, 2) + '\n');
console.log('wrote docs/api/openapi.json');
