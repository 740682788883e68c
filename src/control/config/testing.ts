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

/** A grammar-specific edit of one line for mutateLines (`pick(n)`: a random integer below n). */
export type LineEdit = (line: string, pick: (n: number) => number) => string;

/**
 * One random edit of `text`, for parser fuzzing: delete, duplicate or swap a line, insert or
 * replace one character from `chars`, or one of the grammar's own `edits` of a line.
 */
export function mutateLines(text: string, rnd: () => number, chars: string, edits: readonly LineEdit[]): string {
  const lines = text.split('\n');
  const pick = (n: number) => Math.floor(rnd() * n);
  const i = pick(lines.length);
  const op = pick(4 + edits.length);
  switch (op) {
    case 0: lines.splice(i, 1); break;
    case 1: lines.splice(i, 0, lines[i]); break;
    case 2: {
      const l = lines[i];
      const at = pick(l.length + 1);
      lines[i] = l.slice(0, at) + chars[pick(chars.length)] + l.slice(at + (rnd() < 0.5 ? 1 : 0));
      break;
    }
    case 3: {
      const j = pick(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]];
      break;
    }
    default: lines[i] = edits[op - 4](lines[i], pick);
  }
  return lines.join('\n');
}
