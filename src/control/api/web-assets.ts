// The dashboard's static files (the repository's web/ folder): a fixed list served by name, read
// once and kept in memory. Nothing else on disk is reachable through the API server.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** URL path -> file name in web/, and its content type. */
export const WEB_ASSETS: Readonly<Record<string, readonly [string, string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

/** The page may load only its own script and style, and talk only to this server. */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function walkUp(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'web', 'index.html'))) return join(dir, 'web');
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * The web/ folder: found by walking up from this module to the directory with package.json (the
 * repository or the installed package), then from the working directory (builds elsewhere).
 */
export function locateWebRoot(): string | undefined {
  return walkUp(dirname(fileURLToPath(import.meta.url))) ?? walkUp(process.cwd());
}

/** Loads the dashboard files; undefined (dashboard disabled) when web/ cannot be found. */
export function loadWebAssets(root = locateWebRoot()): Map<string, { body: Buffer; type: string }> | undefined {
  if (!root) return undefined;
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const [path, [name, type]] of Object.entries(WEB_ASSETS)) {
    try {
      files.set(path, { body: readFileSync(join(root, name)), type });
    } catch {
      return undefined;
    }
  }
  return files;
}
