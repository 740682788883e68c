// The part of libpopt's option scanning ipvsadm relies on: bundled short options (`-Ln`), attached
// arguments (`-p60`, `-t=...`, `--weight=3`), optional arguments that are only taken from the next
// word when it does not start with '-', `--` ending the options, non-option words collected as
// leftovers wherever they appear, and poptBadOption naming the last word consumed.
import type { OptionSpec } from './options.js';

/** popt's error strings (poptStrerror) for the errors ipvsadm can meet. */
export type PoptErrorText = 'unknown option' | 'missing argument' | 'option does not take an argument';

/** One step of the scan. `badOption` is what poptBadOption would return at this point. */
export type PoptEvent =
  | { readonly kind: 'opt'; readonly spec: OptionSpec; readonly arg: string | undefined; readonly badOption: string }
  | { readonly kind: 'error'; readonly text: PoptErrorText; readonly badOption: string }
  | { readonly kind: 'end' };

/** Scans argv (without the program name) against an option table, one option per next() call. */
export class PoptScanner {
  private next_ = 0;
  private charArg: string | undefined;
  private restLeftover = false;
  private readonly left: string[] = [];

  constructor(private readonly args: readonly string[], private readonly table: readonly OptionSpec[]) {}

  /** Words that were not options, in order (poptGetArg). */
  leftovers(): string[] {
    return [...this.left];
  }

  private bad(): string {
    return this.args[this.next_ - 1] ?? '';
  }

  /** The next option, an error, or the end. */
  next(): PoptEvent {
    let spec: OptionSpec | undefined;
    let arg: string | undefined;
    for (;;) {
      if (this.charArg) {
        const ch = this.charArg[0];
        const rest = this.charArg.slice(1);
        this.charArg = undefined;
        spec = this.table.find((o) => o.short === ch);
        if (!spec) return { kind: 'error', text: 'unknown option', badOption: this.bad() };
        if (rest !== '') this.charArg = rest[0] === '=' ? rest.slice(1) : rest;
        if (spec.arg !== 'none' && this.charArg) {
          arg = this.charArg;
          this.charArg = undefined;
          return { kind: 'opt', spec, arg, badOption: this.bad() };
        }
        break;
      }
      if (this.next_ >= this.args.length) return { kind: 'end' };
      const tok = this.args[this.next_++];
      if (this.restLeftover || !tok.startsWith('-') || tok === '-') {
        this.left.push(tok);
        continue;
      }
      if (tok === '--') {
        this.restLeftover = true;
        continue;
      }
      if (!tok.startsWith('--')) {
        this.charArg = tok.slice(1);
        continue;
      }
      let name = tok.slice(2);
      const eq = name.indexOf('=');
      if (eq !== -1) {
        arg = name.slice(eq + 1);
        name = name.slice(0, eq);
      }
      spec = this.table.find((o) => o.long === name);
      if (!spec) return { kind: 'error', text: 'unknown option', badOption: this.bad() };
      if (arg !== undefined) {
        if (spec.arg === 'none') return { kind: 'error', text: 'option does not take an argument', badOption: this.bad() };
        return { kind: 'opt', spec, arg, badOption: this.bad() };
      }
      break;
    }
    if (spec.arg === 'none') return { kind: 'opt', spec, arg: undefined, badOption: this.bad() };
    if (this.next_ >= this.args.length) {
      if (spec.arg === 'optional') return { kind: 'opt', spec, arg: undefined, badOption: this.bad() };
      return { kind: 'error', text: 'missing argument', badOption: this.bad() };
    }
    if (spec.arg === 'optional' && this.args[this.next_].startsWith('-')) {
      return { kind: 'opt', spec, arg: undefined, badOption: this.bad() };
    }
    arg = this.args[this.next_++];
    return { kind: 'opt', spec, arg, badOption: this.bad() };
  }
}
