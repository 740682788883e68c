// MISC_CHECK (spec §7.2, §7.3): run a program (argv, never through a shell) in its own process
// group. Exit 0 = up, 1 = down; with misc_dynamic, 2..255 = up with weight status − 2 (without
// it, any non-zero status is down). On timeout or abort the whole process group gets SIGKILL,
// so children the program started die with it.
import { spawn } from 'node:child_process';
import { checkInt, CheckFailure, runProbe, whenAborted, type CheckResult, type Checker } from './checker.js';

/** Options of MISC_CHECK. */
export interface ExecCheckOptions {
  /** Program and arguments; argv[0] is looked up in PATH when it has no slash. */
  readonly argv: readonly string[];
  /**
   * misc_timeout in ms. keepalived's default is delay_loop, so pass that when the config has no
   * misc_timeout; the runner uses this instead of connect_timeout.
   */
  readonly timeoutMs?: number;
  /** misc_dynamic: exit statuses 2..255 mean up with weight status − 2. */
  readonly dynamic?: boolean;
  /** user: run as this uid (needs privilege). */
  readonly uid?: number;
  /** group: run as this gid (needs privilege). */
  readonly gid?: number;
  /** Environment; default the daemon's. */
  readonly env?: NodeJS.ProcessEnv;
}

/** MISC_CHECK checker. */
export class ExecChecker implements Checker {
  /** The bound the runner applies instead of connect_timeout (misc_timeout). */
  readonly timeoutMs?: number;
  private readonly opts: ExecCheckOptions;

  /** @param opts argv and options; validated here (RangeError naming the field). */
  constructor(opts: ExecCheckOptions) {
    if (opts.argv.length === 0 || opts.argv[0] === '') {
      throw new RangeError(`Cannot create MISC_CHECK as 'argv' must name a program: current value is ${JSON.stringify(opts.argv)}`);
    }
    if (opts.timeoutMs !== undefined) {
      checkInt('MISC_CHECK', 'timeoutMs', opts.timeoutMs, 1, 2 ** 31 - 1);
      this.timeoutMs = opts.timeoutMs;
    }
    this.opts = opts;
  }

  /** @returns "MISC_CHECK /usr/local/bin/check arg" */
  describe(): string {
    return `MISC_CHECK ${this.opts.argv.join(' ')}`;
  }

  /** Runs the program once and maps its exit status. */
  check(signal: AbortSignal): Promise<CheckResult> {
    return runProbe(`MISC_CHECK ${this.opts.argv[0]}`, signal, () => this.run(signal));
  }

  private run(signal: AbortSignal): Promise<{ detail: string; weight?: number }> {
    const o = this.opts;
    return new Promise((resolve, reject) => {
      const child = spawn(o.argv[0]!, o.argv.slice(1), {
        detached: true, // its own process group, so a timeout can kill every descendant
        stdio: 'ignore',
        shell: false,
        ...(o.uid !== undefined ? { uid: o.uid } : {}),
        ...(o.gid !== undefined ? { gid: o.gid } : {}),
        ...(o.env ? { env: o.env } : {}),
      });
      let aborted = false;
      const detach = whenAborted(signal, () => {
        aborted = true;
        killGroup(child.pid);
      });
      child.once('error', (err) => {
        detach();
        reject(new CheckFailure(`cannot run: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      });
      child.once('exit', (code, sig) => {
        detach();
        if (aborted) return reject(signal.reason);
        if (sig !== null) return reject(new CheckFailure(`killed by ${sig}`));
        if (code === 0) return resolve({ detail: 'exit status 0' });
        if (code !== null && code >= 2 && o.dynamic) return resolve({ detail: `exit status ${code}, weight ${code - 2}`, weight: code - 2 });
        reject(new CheckFailure(`exit status ${code}`));
      });
    });
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is already gone
  }
}
