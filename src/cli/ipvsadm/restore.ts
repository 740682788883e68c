// `ipvsadm -R` input (spec §5.1, §5.7): one command per line, words separated by blanks/tabs/CRs,
// every word "ipvsadm" dropped (config_stream.c drops it wherever it appears, so the optional
// leading "ipvsadm" of saved scripts works), `#` starts a comment, lines without words are skipped.
// Each remaining line is parsed like a command line; `-R` inside the stream is refused (tryhelp).
//
// How ipvsadm proceeds, which callers applying the entries should follow: a 'fail' or 'tryhelp'
// error ends the whole run (exit 2 / 255) after the earlier lines were applied; a 'popt' error
// and a failed table operation print their message and go on with the next line; the exit status
// is that of the last line.
import type { ParseResult } from './command.js';
import { type ParseOptions, parseArgs } from './parse.js';

/** One command line of a restore stream. */
export interface RestoreEntry {
  /** 1-based line number in the input. */
  readonly line: number;
  /** The words of the line (comments and "ipvsadm" removed). */
  readonly argv: readonly string[];
  readonly result: ParseResult;
}

/** Splits one line into words as config_stream_read does (comments removed). */
export function restoreWords(line: string): string[] {
  const hash = line.indexOf('#');
  const text = hash === -1 ? line : line.slice(0, hash);
  return text.split(/[ \t\r]+/).filter((w) => w !== '' && w !== 'ipvsadm');
}

/** Parses a whole restore stream into its command lines, in order. */
export function parseRestore(text: string, opts: Omit<ParseOptions, 'inRestore'> = {}): RestoreEntry[] {
  const out: RestoreEntry[] = [];
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const argv = restoreWords(raw);
    if (argv.length === 0) return;
    out.push({ line: i + 1, argv, result: parseArgs(argv, { ...opts, inRestore: true }) });
  });
  return out;
}
