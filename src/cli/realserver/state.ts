// The realserver state file: what `tsvs realserver up` changed, each change with what was there
// before, so `down` undoes exactly those changes (in reverse order) and nothing else. Saved after
// every change, so a failed `up` can still be undone.

import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ProcessRecord } from '../../control/sysnet/process.js';

/** Forwarding method the real server is prepared for. */
export type RsMode = 'dr' | 'tun' | 'nat';

/** One recorded change. */
export type Change =
  | { readonly kind: 'sysctl'; readonly key: string; readonly previous: string; readonly value: string }
  | { readonly kind: 'address'; readonly dev: string; readonly cidr: string }
  | { readonly kind: 'link'; readonly name: string; readonly type: 'dummy' | 'tun' }
  | { readonly kind: 'link-up'; readonly name: string }
  | { readonly kind: 'route'; readonly dst: string; readonly gateway: string; readonly dev?: string; readonly previous: { gateway?: string; dev?: string } | null }
  | { readonly kind: 'fou'; readonly port: number }
  | { readonly kind: 'process'; readonly what: string; readonly process: ProcessRecord };

/** The state file's content. */
export interface RsState {
  version: 1;
  netns: string | null;
  mode: RsMode;
  vips: string[];
  iface?: string;
  tunType?: 'ipip' | 'gue';
  tunPort?: number;
  gateway?: string;
  /** Device holding the VIPs (lo or a dummy). */
  vipDev?: string;
  /** Where tunnelled packets come out: 'tunl0' (kernel ipip/fou) or tsvs's TUN device. */
  decapDev?: string;
  decap?: 'kernel' | 'tsvs';
  changes: Change[];
}

/** Default state file: /run/tsvs/realserver-<netns or host>.json. */
export function defaultStateFile(netns: string | undefined): string {
  return `/run/tsvs/realserver-${netns ?? 'host'}.json`;
}

/** Reads a state file; undefined when there is none. Throws naming the file when it is unreadable. */
export function loadState(path: string): RsState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read realserver state file ${path}: ${(e as Error).message}`);
  }
  let st: RsState;
  try {
    st = JSON.parse(text) as RsState;
  } catch (e) {
    throw new Error(`Cannot parse realserver state file ${path}: ${(e as Error).message}`);
  }
  if (st.version !== 1 || !Array.isArray(st.changes)) throw new Error(`Cannot use realserver state file ${path}: unknown version ${String(st.version)}`);
  return st;
}

/** Writes the state atomically (temporary file + rename). */
export function saveState(path: string, st: RsState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(st, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Removes the state file (nothing left to undo). */
export function removeState(path: string): void {
  try { unlinkSync(path); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
}
