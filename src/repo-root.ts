// Finding the repository (or installed package) directory from compiled code: dist/ has no
// package.json, and builds may live elsewhere (/tmp/x-dist), so walk up from this module and then
// from the working directory to the first directory with package.json and the wanted entry.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory above this module or the cwd holding package.json and `marker` (a relative path), or undefined. */
export function findRepoDir(marker: string): string | undefined {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let dir = resolve(start);
    for (;;) {
      if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, marker))) return dir;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return undefined;
}

/** Like findRepoDir, but throws naming the marker when there is none (tests reading fixtures). */
export function repoDir(marker: string): string {
  const dir = findRepoDir(marker);
  if (!dir) throw new Error(`cannot find the repository root (package.json with ${marker}) above the compiled code or the working directory`);
  return dir;
}
