// Rules for `tsvs simulate`: text in `ipvsadm -S -n` / `ipvsadm -R` format, parsed with the same
// ipvsadm grammar tsvsadm uses, turned into the Director's table operations.
import { parseArgs, parseRestore, usageErrorText } from '../ipvsadm/index.js';
import type { Command } from '../ipvsadm/command.js';
import { commandToOps } from '../../control/ipvsadm-ops.js';
import type { TableOp } from '../../control/director-api.js';
import { InputError } from './events.js';
import type { RuleOps } from './simulator.js';

/** Parses a rules file; throws InputError at the first bad line. */
export function parseRulesText(text: string, file: string): RuleOps[] {
  return parseRestore(text).map((e) => {
    if (!e.result.ok) throw new InputError(file, e.line, usageErrorText(e.result.error).trim() || `bad ipvsadm command: ${e.argv.join(' ')}`);
    return { file, line: e.line, ops: opsOf(e.result.command, file, e.line) };
  });
}

/** One rule given as argv (an events file's `rule` line). */
export function ruleArgvToOps(argv: readonly string[], file: string, line: number): TableOp[] {
  const r = parseArgs(argv);
  if (!r.ok) throw new InputError(file, line, usageErrorText(r.error).trim() || `bad ipvsadm command: ${argv.join(' ')}`);
  return opsOf(r.command, file, line);
}

function opsOf(cmd: Command, file: string, line: number): TableOp[] {
  const ops = commandToOps(cmd);
  if (!ops) throw new InputError(file, line, `'${cmd.kind}' does not change the rules: only commands such as -A, -E, -D, -a, -e, -d, -C, -Z and --set may appear here`);
  return ops;
}
