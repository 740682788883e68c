// The strict loader of tsvs.yaml: YAML → schema (schema.ts) → semantic rules (validate.ts).
// Every problem is reported as "file:line:col: field.path: message", and all problems of a file
// are collected and thrown together as one ConfigError, so an operator fixes a config in one pass.
import { readFileSync } from 'node:fs';
import { Document, LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node as YamlNode, Pair } from 'yaml';
import type { ZodErrorMap, ZodIssue, ZodTypeAny } from 'zod';
import { z } from 'zod';
import { configSchema, serviceSchema } from './schema.js';
import type { Config, ServiceSpec } from './schema.js';
import { validateConfig } from './validate.js';
import type { PathSeg } from './validate.js';

/** One problem in a config file. line and col are 1-based (0 when the file could not be read). */
export interface ConfigIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Field path like `services[0].realServers[1].weight` ('' for syntax errors). */
  readonly path: string;
  readonly message: string;
}

/** Everything wrong with a config file; `message` has one formatted line per issue. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** "file:line:col: path: message". */
export function formatIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.col}` : i.file;
  return i.path ? `${where}: ${i.path}: ${i.message}` : `${where}: ${i.message}`;
}

/** `services[0].realServers[1].weight` from ['services', 0, 'realServers', 1, 'weight']. */
export function formatPath(path: readonly PathSeg[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (!/^[A-Za-z_][\w-]*$/.test(seg)) s += `[${JSON.stringify(seg)}]`;
    else s += s ? `.${seg}` : seg;
  }
  return s;
}

/** Reads and loads a config file; the file name in messages is the path as given. */
export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file: path, line: 0, col: 0, path: '', message: `cannot read the file: ${(e as Error).message}` }]);
  }
  return loadConfigText(text, path);
}

/** Parses and validates config text; throws ConfigError listing every problem found. */
export function loadConfigText(text: string, fileName: string): Config {
  const issues: ConfigIssue[] = [];
  const lc = new LineCounter();
  const at = (offset: number | undefined, path: readonly PathSeg[], message: string) => {
    const pos = offset === undefined ? { line: 1, col: 1 } : lc.linePos(offset);
    issues.push({ file: fileName, line: pos.line, col: pos.col, path: formatPath(path), message });
  };
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false, strict: true, version: '1.2', merge: false });
  } catch (e) {
    at(0, [], `YAML: ${(e as Error).message}`);
    throw new ConfigError(issues);
  }
  for (const e of [...doc.errors, ...doc.warnings]) at(e.pos[0], [], `YAML: ${firstLine(e.message)}`);
  if (issues.length) throw new ConfigError(issues);

  const locate = (path: readonly PathSeg[]) => locateNode(doc, path);
  // A non-string key is reported once here, not again as an unknown key by the schema pass.
  const badKeys = new Set<string>();
  checkKeys(doc.contents, [], (node, path, message, badKey) => {
    if (badKey !== undefined) badKeys.add(formatPath([...path, badKey]));
    at(node?.range?.[0], path, message);
  }, (o) => lc.linePos(o).line);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    at(0, [], `YAML: ${(e as Error).message}`);
    throw new ConfigError(issues);
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    at(doc.contents?.range?.[0], [], 'the document must be a mapping of sections (dataplane, api, services, ...)');
    throw new ConfigError(issues);
  }

  const report = (path: readonly PathSeg[], message: string) => {
    if (!badKeys.has(formatPath(path))) at(locate(path), path, message);
  };
  const result = parseSections(raw as Record<string, unknown>, report);
  validateConfig(result.config, result.services, report);
  if (issues.length) {
    issues.sort((a, b) => a.line - b.line || a.col - b.col);
    throw new ConfigError(issues);
  }
  return result.config as Config;
}

function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  return nl === -1 ? s : s.slice(0, nl);
}

// ----- schema pass, section by section so that one bad service does not hide the others -----

interface Sections {
  config: Partial<Config>;
  /** Services that passed the schema, with their index in the file. */
  services: { index: number; spec: ServiceSpec }[];
}

function parseSections(raw: Record<string, unknown>, report: (path: readonly PathSeg[], message: string) => void): Sections {
  const shape = configSchema.shape;
  const config: Record<string, unknown> = {};
  const services: { index: number; spec: ServiceSpec }[] = [];
  for (const key of Object.keys(raw)) {
    if (!(key in shape)) report([key], unknownKeyMessage(key, Object.keys(shape)));
  }
  for (const [key, schema] of Object.entries(shape) as [keyof typeof shape, ZodTypeAny][]) {
    const value = raw[key];
    if (key === 'services' && Array.isArray(value)) {
      const ok: ServiceSpec[] = [];
      value.forEach((item, index) => {
        const r = serviceSchema.safeParse(item, { path: ['services', index], errorMap });
        if (r.success) { ok.push(r.data); services.push({ index, spec: r.data }); } else reportIssues(r.error.issues, raw, report);
      });
      config.services = ok;
      continue;
    }
    const r = schema.safeParse(value, { path: [key], errorMap });
    if (r.success) config[key] = r.data;
    else reportIssues(r.error.issues, raw, report);
  }
  return { config: config as Partial<Config>, services };
}

const errorMap: ZodErrorMap = (issue, ctx) => {
  if (issue.code === 'invalid_type' && issue.received === 'undefined') return { message: 'is required' };
  // Keep a schema's own message; replace only zod's generic "Expected x, received y".
  if (issue.code === 'invalid_type' && /^Expected /.test(ctx.defaultError)) return { message: `must be ${article(issue.expected)}` };
  return { message: ctx.defaultError };
};

function article(t: string): string {
  switch (t) {
    case 'object': return 'a mapping';
    case 'array': return 'a list';
    case 'integer': return 'an integer';
    default: return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
  }
}

function reportIssues(issues: ZodIssue[], root: unknown, report: (path: readonly PathSeg[], message: string) => void): void {
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && issue.unionErrors.length > 0 && !hasOwnMessage(issue)) {
      // A union without its own message: report the branch that got furthest.
      const best = issue.unionErrors.map((e) => e.issues).sort((a, b) => depth(b) - depth(a))[0];
      reportIssues(best, root, report);
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(issue.path, root);
      for (const key of issue.keys) report([...issue.path, key], unknownKeyMessage(key, allowed));
      continue;
    }
    const value = valueAt(root, issue.path);
    // "current value is a list" says nothing unless the type itself is wrong.
    const plain = issue.message === 'is required' || (typeof value === 'object' && value !== null && issue.code !== 'invalid_type');
    report(issue.path, plain ? issue.message : `${issue.message}: current value is ${describe(value)}`);
  }
}

function hasOwnMessage(issue: ZodIssue): boolean {
  return issue.message !== 'Invalid input';
}

function depth(issues: ZodIssue[]): number {
  return Math.max(...issues.map((i) => i.path.length));
}

/** The keys the schema allows at a path (for "did you mean"), found by walking the schema. */
function allowedKeys(path: readonly PathSeg[], root: unknown): string[] {
  let schema: ZodTypeAny | undefined = configSchema;
  let value: unknown = root;
  for (const seg of [...path, null]) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodDiscriminatedUnion) {
      const t = (value as Record<string, unknown> | undefined)?.[schema.discriminator];
      schema = unwrap(schema.optionsMap.get(t as string));
    }
    if (seg === null) break;
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, ZodTypeAny>)[seg as string];
    else if (schema instanceof z.ZodArray) schema = schema.element;
    else return [];
    value = (value as Record<string | number, unknown> | undefined)?.[seg];
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(s: ZodTypeAny | undefined): ZodTypeAny | undefined {
  for (;;) {
    if (s instanceof z.ZodDefault) s = s._def.innerType;
    else if (s instanceof z.ZodOptional) s = s.unwrap();
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else return s;
  }
}

/** "unknown key "wieght" (did you mean "weight"?)" or the list of allowed keys. */
export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of allowed) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) { bestD = d; best = k; }
  }
  if (best !== undefined && bestD <= (best.length <= 4 ? 1 : 2)) return `unknown key (did you mean "${best}"?)`;
  return allowed.length ? `unknown key (allowed: ${allowed.join(', ')})` : 'unknown key';
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

function valueAt(root: unknown, path: readonly PathSeg[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** How a value is shown after "current value is". */
export function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

// ----- YAML tree: key checks and locating a field path -----

/** Reports duplicate keys and keys that are not plain strings, anywhere in the tree. */
function checkKeys(
  node: unknown, path: PathSeg[],
  report: (node: YamlNode | null | undefined, path: readonly PathSeg[], message: string, badKey?: string) => void,
  lineOf: (offset: number) => number,
): void {
  if (isMap(node)) {
    const seen = new Map<string, Pair>();
    for (const pair of [...node.items]) {
      const key = pair.key;
      if (!isScalar(key) || typeof key.value !== 'string') {
        const asText = isScalar(key) ? String(key.value) : undefined;
        report(isPair(pair) ? (key as YamlNode) : null, path, `keys must be plain strings: current key is ${isScalar(key) ? describe(key.value) : 'a collection'}`, asText);
        // Drop the pair so that converting to JS neither stringifies nor warns about it.
        node.items.splice(node.items.indexOf(pair), 1);
        continue;
      }
      const first = seen.get(key.value);
      if (first) {
        const firstAt = (first.key as YamlNode).range?.[0];
        report(key, [...path, key.value], `duplicate key (first set at line ${firstAt === undefined ? '?' : lineOf(firstAt)})`);
      } else seen.set(key.value, pair);
      checkKeys(pair.value, [...path, key.value], report, lineOf);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => checkKeys(item, [...path, i], report, lineOf));
  }
}

/** The source offset of a field: its key for mapping entries, the item for list entries, else the nearest parent. */
function locateNode(doc: Document.Parsed, path: readonly PathSeg[]): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = (node as YamlNode | null)?.range?.[0];
  for (const seg of path) {
    if (isAlias(node)) return offset;
    if (isMap(node) && typeof seg === 'string') {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === seg);
      if (!pair) return offset;
      offset = (pair.key as YamlNode).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) return offset;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}
