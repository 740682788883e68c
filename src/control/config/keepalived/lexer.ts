// keepalived.conf lexer: lines of tokens with their file and line number. Handles comments
// (# and ! anywhere outside quotes), quoted strings with keepalived's escapes, braces as tokens
// of their own, `include` (and includer/m/w/b/a) relative to the including file with glob and
// brace patterns, and single-line parameter definitions ($NAME=VALUE, ${NAME}). Conditional
// lines (@id) and multi-line definitions are reported and skipped.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Diagnostics, KeepalivedError } from './diagnostics.js';

/** A word (possibly quoted) or a brace. */
export interface KaToken {
  readonly kind: 'word' | 'open' | 'close';
  readonly text: string;
  /** True when any part of the word was quoted (so it may contain spaces). */
  readonly quoted: boolean;
}

/** The tokens of one source line. */
export interface KaLine {
  readonly file: string;
  readonly line: number;
  readonly tokens: readonly KaToken[];
}

/** File access for includes (injected so tests can use an in-memory tree). */
export interface IncludeHost {
  /** The text of a file; throws when it cannot be read. */
  readFile(path: string): string;
  /** Files matching a glob pattern (absolute path with * ? [..] in any segment), sorted. */
  glob(pattern: string): string[];
}

const INCLUDE_KEYWORDS = new Set(['include', 'includer', 'includem', 'includew', 'includeb', 'includea']);
const MAX_INCLUDE_DEPTH = 8;
const MAX_FILES = 256;

/** Includes read from the real file system. */
export const fsIncludeHost: IncludeHost = {
  readFile: (path) => readFileSync(path, 'utf8'),
  glob: (pattern) => globFs(pattern),
};

/** An include host that can read nothing (for text without a file). */
export const noIncludeHost: IncludeHost = {
  readFile: (path) => { throw new Error(`cannot read ${path}`); },
  glob: () => [],
};

/** Tokenizes a keepalived.conf and the files it includes. */
export function lexKeepalived(text: string, fileName: string, host: IncludeHost, diag: Diagnostics): KaLine[] {
  const out: KaLine[] = [];
  const state = { params: new Map<string, string>(), files: 0 };
  const baseDir = dirname(resolve(fileName));
  lexFile(text, fileName, resolve(fileName), 0);
  return out;

  function display(abs: string): string {
    const rel = relative(baseDir, abs);
    return rel.startsWith('..') ? abs : rel;
  }

  function lexFile(src: string, file: string, absPath: string, depth: number): void {
    const lines = src.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      let raw = lines[i];
      const def = /^\s*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
      if (def) {
        if (def[2].trimEnd().endsWith('\\')) {
          diag.unsupported(file, lineNo, `multi-line definition $${def[1]}`, 'only single-line $NAME=VALUE definitions are expanded; the definition was skipped');
          while (i < lines.length && lines[i].trimEnd().endsWith('\\')) i++;
          continue;
        }
        state.params.set(def[1], def[2].trim());
        continue;
      }
      if (raw.includes('$')) raw = substitute(raw, state.params);
      if (/^\s*@/.test(raw)) {
        const word = /^\s*(\S+)/.exec(raw)?.[1] ?? '@';
        diag.unsupported(file, lineNo, word, 'conditional lines need keepalived\'s config-id; the line was skipped');
        continue;
      }
      const tokens = tokenizeLine(raw, (msg) => diag.add(file, lineNo, 'warning', msg));
      if (tokens.length === 0) continue;
      if (tokens[0].kind === 'word' && INCLUDE_KEYWORDS.has(tokens[0].text)) {
        include(tokens, file, absPath, lineNo, depth);
        continue;
      }
      out.push({ file, line: lineNo, tokens });
    }
  }

  function include(tokens: readonly KaToken[], file: string, absPath: string, lineNo: number, depth: number): void {
    const pattern = tokens[1]?.text;
    if (pattern === undefined || tokens.length > 2) {
      diag.add(file, lineNo, 'warning', `${tokens[0].text} takes one file name; the line was skipped`);
      return;
    }
    if (depth >= MAX_INCLUDE_DEPTH) throw new KeepalivedError(file, lineNo, `includes nest deeper than ${MAX_INCLUDE_DEPTH} levels (a loop?)`);
    const full = isAbsolute(pattern) ? pattern : join(dirname(absPath), pattern);
    let matches: string[];
    try {
      matches = /[*?[{]/.test(pattern) ? host.glob(full) : [full];
    } catch (e) {
      diag.add(file, lineNo, 'warning', `cannot expand ${pattern}: ${(e as Error).message}`);
      return;
    }
    if (matches.length === 0) diag.add(file, lineNo, 'warning', `${pattern} matches no file; nothing included`);
    for (const m of matches) {
      if (++state.files > MAX_FILES) throw new KeepalivedError(file, lineNo, `more than ${MAX_FILES} files included`);
      let src: string;
      try {
        src = host.readFile(m);
      } catch (e) {
        diag.add(file, lineNo, 'warning', `cannot read included file ${m}: ${(e as Error).message}`);
        continue;
      }
      lexFile(src, display(m), m, depth + 1);
    }
  }
}

/** Replaces ${NAME} and $NAME (followed by whitespace or end) with defined values, recursively. */
function substitute(line: string, params: ReadonlyMap<string, string>): string {
  for (let pass = 0; pass < 10 && line.includes('$'); pass++) {
    const next = line.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=\s|$)/g, (whole, a?: string, b?: string) => {
      const v = params.get((a ?? b)!);
      return v === undefined ? whole : v;
    });
    if (next === line) break;
    line = next;
  }
  return line;
}

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', E: '\x1b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Splits one line into tokens (spec: keepalived.conf(5) "Quoted strings"). */
export function tokenizeLine(line: string, warn: (message: string) => void): KaToken[] {
  const tokens: KaToken[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r') { i++; continue; }
    if (c === '#' || c === '!') break;
    if (c === '{' || c === '}') {
      tokens.push({ kind: c === '{' ? 'open' : 'close', text: c, quoted: false });
      i++;
      continue;
    }
    let text = '';
    let quoted = false;
    while (i < n) {
      const ch = line[i];
      if (ch === '"' || ch === "'") {
        quoted = true;
        const close = ch;
        i++;
        let closed = false;
        while (i < n) {
          const q = line[i];
          if (q === close) { closed = true; i++; break; }
          if (q === '\\' && i + 1 < n) {
            const [s, used] = unescape(line, i + 1);
            text += s;
            i += 1 + used;
            continue;
          }
          text += q;
          i++;
        }
        if (!closed) warn(`unterminated ${close} quote: the string runs to the end of the line`);
        continue;
      }
      if (/\s/.test(ch) || ch === '{' || ch === '}' || ch === '#' || ch === '!') break;
      text += ch;
      i++;
    }
    tokens.push({ kind: 'word', text, quoted });
  }
  return tokens;
}

/** One escape after a backslash at `at`: returns the text and how many characters it used. */
function unescape(s: string, at: number): [string, number] {
  const c = s[at];
  if (c in ESCAPES) return [ESCAPES[c], 1];
  const oct = /^[0-7]{1,3}/.exec(s.slice(at, at + 3));
  if (oct) return [String.fromCharCode(parseInt(oct[0], 8) & 0xff), oct[0].length];
  if (c === 'x') {
    const hex = /^[0-9a-fA-F]{1,2}/.exec(s.slice(at + 1, at + 3));
    if (hex) return [String.fromCharCode(parseInt(hex[0], 16)), 1 + hex[0].length];
  }
  if (c === 'c' && at + 1 < s.length) return [String.fromCharCode(s.charCodeAt(at + 1) & 0x1f), 2];
  return [c, 1];
}

/** Expands {a,b} braces (no nesting beyond what recursion gives) and globs segment by segment. */
function globFs(pattern: string): string[] {
  const results = new Set<string>();
  for (const p of expandBraces(pattern, 0)) {
    let paths = [p.startsWith('/') ? '/' : '.'];
    for (const seg of p.split('/').filter((s) => s !== '')) {
      const next: string[] = [];
      for (const base of paths) {
        if (!/[*?[]/.test(seg)) { next.push(join(base, seg)); continue; }
        const re = globSegmentRegExp(seg);
        let names: string[] = [];
        try { names = readdirSync(base); } catch { names = []; }
        for (const name of names) if (re.test(name) && !(name.startsWith('.') && !seg.startsWith('.'))) next.push(join(base, name));
      }
      paths = next.slice(0, 1000);
    }
    for (const x of paths) results.add(x);
  }
  return [...results].sort();
}

function expandBraces(p: string, depth: number): string[] {
  const open = p.indexOf('{');
  if (open === -1 || depth > 4) return [p];
  let level = 0;
  let close = -1;
  for (let i = open; i < p.length; i++) {
    if (p[i] === '{') level++;
    else if (p[i] === '}' && --level === 0) { close = i; break; }
  }
  if (close === -1) return [p];
  const parts: string[] = [];
  let start = open + 1;
  level = 0;
  for (let i = open + 1; i < close; i++) {
    if (p[i] === '{') level++;
    else if (p[i] === '}') level--;
    else if (p[i] === ',' && level === 0) { parts.push(p.slice(start, i)); start = i + 1; }
  }
  parts.push(p.slice(start, close));
  return parts.flatMap((part) => expandBraces(p.slice(0, open) + part + p.slice(close + 1), depth + 1));
}

function globSegmentRegExp(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end === -1) { re += '\\['; continue; }
      const body = seg.slice(i + 1, end).replace(/^!/, '^').replace(/[\\\]]/g, '\\$&');
      re += `[${body}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}
