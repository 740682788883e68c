// Test helpers of the config loader and the keepalived import (used by *.test.ts only).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../../core/random.js';
import { repoDir } from '../../repo-root.js';

/** The repository root (the directory with package.json and examples/). */
export function repoRoot(): string {
  return repoDir('examples');
}

/** The text of a file relative to the repository root. */
export function readFixture(rel: string): string {
  return readFileSync(join(repoRoot(), rel), 'utf8');
}

/** A seeded generator of floats in [0, 1) (the core's SeededRandom), so fuzz failures reproduce. */
export function seeded(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.nextU32() / 4294967296;
}
