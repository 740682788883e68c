// Reading keepalived argument values the way its parser does (integers, <TIMER> seconds with
// fractions, <BOOL>, scripts), warning with the line number and ignoring the keyword when a
// value is invalid — keepalived logs and carries on, and so does the import.
import type { Diagnostics } from './diagnostics.js';
import type { KaNode } from './parser.js';

/** What the readers need: where to report. */
export interface ReadCtx {
  readonly diag: Diagnostics;
}

/** A script as tsvs.yaml spells it. */
export interface ScriptOut {
  command: string[];
  user?: string;
}

function warn(ctx: ReadCtx, node: KaNode, detail: string): void {
  ctx.diag.add(node.file, node.line, 'warning', `${node.keyword}: ${detail}`);
}

/** Checks the argument count; warns and returns false when it is wrong. */
export function expectArgs(ctx: ReadCtx, node: KaNode, min: number, max: number): boolean {
  const n = node.args.length;
  if (n >= min && n <= max) return true;
  const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
  warn(ctx, node, `takes ${want} argument${min === 1 && max === 1 ? '' : 's'}, got ${n}; ignored`);
  return false;
}

/** The argument at `i` as an integer min..max, or undefined (warned). */
export function readInt(ctx: ReadCtx, node: KaNode, i: number, min: number, max: number): number | undefined {
  const text = node.args[i]?.text;
  if (text === undefined) { warn(ctx, node, `needs an integer ${min}..${max}; ignored`); return undefined; }
  if (!/^-?[0-9]{1,12}$/.test(text) || Number(text) < min || Number(text) > max) {
    warn(ctx, node, `${JSON.stringify(text)} is not an integer ${min}..${max}; ignored`);
    return undefined;
  }
  return Number(text);
}

/** The argument at `i` as keepalived's <TIMER>: seconds, fractions allowed, within [min, max]. */
export function readTimer(ctx: ReadCtx, node: KaNode, i: number, min: number, max: number): number | undefined {
  const text = node.args[i]?.text;
  const ok = text !== undefined && /^[0-9]{1,9}(\.[0-9]{1,6})?$/.test(text) && Number(text) >= min && Number(text) <= max;
  if (!ok) {
    warn(ctx, node, `${text === undefined ? 'needs a value' : JSON.stringify(text) + ' is not'} a number of seconds ${min}..${max}; ignored`);
    return undefined;
  }
  return Number(text);
}

/** keepalived's optional <BOOL> (on|off|true|false|yes|no); no argument means true. */
export function readBool(ctx: ReadCtx, node: KaNode, i = 0): boolean | undefined {
  const text = node.args[i]?.text;
  if (text === undefined) return true;
  const t = text.toLowerCase();
  if (t === 'on' || t === 'true' || t === 'yes') return true;
  if (t === 'off' || t === 'false' || t === 'no') return false;
  warn(ctx, node, `${JSON.stringify(text)} is not one of on, off, true, false, yes, no; ignored`);
  return undefined;
}

/**
 * A script: `<STRING>|<QUOTED-STRING> [username [:][groupname]]`. The first argument is the
 * command line (split into argv, single quotes group words); the rest name the user.
 */
export function readScript(ctx: ReadCtx, node: KaNode): ScriptOut | undefined {
  if (!expectArgs(ctx, node, 1, 3)) return undefined;
  const command = splitCommand(node.args[0].text);
  if (command.length === 0) { warn(ctx, node, 'names no program; ignored'); return undefined; }
  const user = userOf(node.args.slice(1).map((a) => a.text));
  return user === undefined ? { command } : { command, user };
}

/** "user", "user:group" from keepalived's `username [:][groupname]` words. */
export function userOf(words: readonly string[]): string | undefined {
  if (words.length === 0) return undefined;
  const [u, g] = words;
  if (g === undefined) return u;
  return `${u}:${g.replace(/^:/, '')}`;
}

/** Splits a command line on whitespace; single or double quotes group words (no shell). */
export function splitCommand(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: string | undefined;
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
    }
  }
  if (has || cur) out.push(cur);
  return out;
}

/**
 * keepalived's free-format hex (UDP_CHECK): each space-separated group is read two digits at a
 * time and an odd last digit is a byte of its own ("Ab12f 3" → ab 12 0f 03). `x` nibbles are
 * kept (require_reply wildcards). Returns space-separated byte pairs, or undefined when invalid.
 */
export function normalizeHex(words: readonly string[], allowX: boolean): string | undefined {
  const bytes: string[] = [];
  const re = allowX ? /^[0-9a-fA-FxX]+$/ : /^[0-9a-fA-F]+$/;
  for (const w of words.flatMap((x) => x.split(/\s+/)).filter((x) => x !== '')) {
    if (!re.test(w)) return undefined;
    for (let i = 0; i < w.length; i += 2) bytes.push(i + 1 < w.length ? w.slice(i, i + 2) : `0${w[i]}`);
  }
  return bytes.length ? bytes.join(' ').toLowerCase() : undefined;
}
