// The dashboard's static files (the repository's web/ folder): a fixed list served by name, read
// once and kept in memory. Nothing else on disk is reachable through the API server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRepoDir } from '../../repo-root.js';

/** URL path -> file name in web/, and its content type. */
export const WEB_ASSETS: Readonly<Record<string, readonly [string, string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

/** The page may load only its own script and style, and talk only to this server. */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The web/ folder of the repository or the installed package (see repo-root.ts), if any. */
export function locateWebRoot(): string | undefined {
  const dir = findRepoDir('web/index.html');
  return dir === undefined ? undefined : join(dir, 'web');
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
