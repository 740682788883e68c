// Long-lived helper processes of the operator tools (decapsulators, lab servers): started detached
// inside a network namespace, identified by PID *and* kernel start time (so a recycled PID is
// never signalled), stopped by PID with a bounded wait.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A process the tools started and recorded in a state file. */
export interface ProcessRecord {
  readonly pid: number;
  /** Field 22 of /proc/PID/stat (clock ticks since boot): tells this process from a later one with the same PID. */
  readonly startTime: string;
  readonly argv: readonly string[];
  readonly netns?: string;
  readonly log?: string;
}

/** Field 22 (starttime) of /proc/PID/stat, or undefined when there is no such (live) process. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (rest[0] === 'Z' || rest[0] === 'X') return undefined; // exited, not yet reaped
  return rest[19];
}

/** True when the recorded process is still the one running under its PID. */
export function isRunning(p: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  return processStartTime(p.pid) === p.startTime;
}

/**
 * Starts argv detached (it outlives the caller), inside `netns` when given (`ip netns exec` execs
 * the command, so the PID is the command's own), stdout and stderr appended to `log`.
 */
export function startDetached(argv: readonly string[], opts: { netns?: string; log: string; cwd?: string; env?: NodeJS.ProcessEnv }): ProcessRecord {
  const full = opts.netns === undefined ? [...argv] : ['ip', 'netns', 'exec', opts.netns, ...argv];
  const fd = openSync(opts.log, 'a');
  try {
    const child = spawn(full[0]!, full.slice(1), { detached: true, stdio: ['ignore', fd, fd], cwd: opts.cwd, env: opts.env ?? process.env });
    child.on('error', () => { /* reported below: no PID or no start time */ });
    child.unref();
    if (child.pid === undefined) throw new Error(`Cannot start \`${full.join(' ')}\`: spawn failed (is ${full[0]} installed?)`);
    const startTime = processStartTime(child.pid);
    if (startTime === undefined) throw new Error(`Cannot start \`${full.join(' ')}\`: it exited at once (see ${opts.log})`);
    return { pid: child.pid, startTime, argv: [...argv], log: opts.log, ...(opts.netns !== undefined ? { netns: opts.netns } : {}) };
  } finally {
    closeSync(fd);
  }
}

/** Stops a recorded process: SIGTERM, then SIGKILL after `graceMs`; false when it was already gone. */
export async function stopProcess(p: Pick<ProcessRecord, 'pid' | 'startTime'>, graceMs = 3000): Promise<boolean> {
  if (!isRunning(p)) return false;
  try { process.kill(p.pid, 'SIGTERM'); } catch { return false; }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(p)) return true;
    await sleep(25);
  }
  if (isRunning(p)) {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* exited meanwhile */ }
    const killDeadline = Date.now() + 2000;
    while (isRunning(p) && Date.now() < killDeadline) await sleep(25);
  }
  return true;
}

/**
 * Waits (at most `timeoutMs`) until `ready()` holds, failing early when the process exits; the
 * error quotes the end of its log.
 */
export async function waitReady(p: ProcessRecord, what: string, ready: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready()) return;
    const gone = !isRunning(p);
    if (gone || Date.now() > deadline) {
      const tail = p.log !== undefined ? logTail(p.log) : '';
      throw new Error(`${what} (pid ${p.pid}) ${gone ? 'exited' : `was not ready after ${timeoutMs} ms`}${tail ? `; its log ${p.log} ends:\n${tail}` : ''}`);
    }
    await sleep(30);
  }
}

/** The last lines of a log file ('' when unreadable). */
export function logTail(path: string, lines = 8): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
