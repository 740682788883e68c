// The young-generation collector's threading for a process that runs a data plane. V8's default
// scavenger copies survivors with helper threads; a load balancer's event loop is one busy thread,
// often pinned to one core, and there the helpers are time-sliced against the very thread they
// pause: a scavenge of a few hundred microseconds' work took 4 ms (median) to 13 ms of wall time,
// every few hundred milliseconds, and made the close test's p99 tail (ADR 0004,
// bench/RESULTS-proxy.md). Scavenged on the loop's own thread they take 0.2 ms (median) to 1.8 ms.
//
// Only --no-parallel-scavenge is set, at run time: the scavenger reads it at every collection. The
// broader --single-threaded-gc (and --no-parallel-marking, --no-concurrent-marking) cannot be
// switched after V8 has started: the next full collection fails a V8 check and aborts the process
// (gc-mode.test.ts runs one to keep it that way).
import { setFlagsFromString } from 'node:v8';

export const SERIAL_SCAVENGE_FLAG = '--no-parallel-scavenge';

/** Environment variable that keeps V8's default (parallel) scavenger. */
export const PARALLEL_GC_ENV = 'TSVS_PARALLEL_GC';

/**
 * Makes this process scavenge on its own thread unless TSVS_PARALLEL_GC=1; returns the mode now in
 * effect. Call first thing in commands that run a data plane (flags are process-wide).
 */
export function chooseGcMode(env: NodeJS.ProcessEnv = process.env, set: (flags: string) => void = setFlagsFromString): 'serial-scavenge' | 'parallel' {
  if (env[PARALLEL_GC_ENV] === '1') return 'parallel';
  set(SERIAL_SCAVENGE_FLAG);
  return 'serial-scavenge';
}
