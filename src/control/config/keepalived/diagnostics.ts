// What `tsvs import keepalived` tells the operator: every construct it could not convert, every
// value it had to change the way keepalived itself would, each with the source file and line.

/** unsupported: left out of the output; warning: converted with a change; note: information. */
export type KaSeverity = 'unsupported' | 'warning' | 'note';

/** One remark about the source, anchored at a line. */
export interface KaDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly severity: KaSeverity;
  readonly message: string;
}

/** A keepalived.conf that cannot be read as a whole (unbalanced braces, unreadable file). */
export class KeepalivedError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'KeepalivedError';
    this.file = file;
    this.line = line;
  }
}

/** Collects diagnostics in source order. */
export class Diagnostics {
  readonly items: KaDiagnostic[] = [];
  private readonly keys = new Set<string>();
  /** Adds a remark (once: a group converts the same block several times). */
  add(file: string, line: number, severity: KaSeverity, message: string): void {
    const key = `${file}\0${line}\0${message}`;
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.items.push({ file, line, severity, message });
  }
  /** The remarks by file (in order of first appearance), then line. */
  sorted(): KaDiagnostic[] {
    const order = new Map<string, number>();
    for (const d of this.items) if (!order.has(d.file)) order.set(d.file, order.size);
    return [...this.items].sort((a, b) => order.get(a.file)! - order.get(b.file)! || a.line - b.line);
  }
  /** "<keyword> is not supported by tsvs yet (<reason>)". */
  unsupported(file: string, line: number, keyword: string, reason: string): void {
    this.add(file, line, 'unsupported', `${keyword} is not supported by tsvs yet (${reason})`);
  }
}

/** "line N: message" for the main file, "file line N: message" for included ones. */
export function formatDiagnostic(d: KaDiagnostic, mainFile: string): string {
  return d.file === mainFile ? `line ${d.line}: ${d.message}` : `${d.file} line ${d.line}: ${d.message}`;
}
