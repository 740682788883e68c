// Starts `tsvs realserver decap` as a detached, long-lived process inside the real server's
// namespace, and stops it by its recorded PID (checked against its start time).

import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isRunning, startDetached, stopProcess, waitReady } from '../../control/sysnet/process.js';
import type { DecapLauncher } from './realserver.js';

/** The tsvs entry point of this build (dist/src/bin/tsvs.js). */
export const TSVS_BIN = fileURLToPath(new URL('../../bin/tsvs.js', import.meta.url));

/** The decapsulator launcher used by the CLI; logs go to `logDir`/decap-<netns|host>.log. */
export function processLauncher(logDir = '/run/tsvs'): DecapLauncher {
  return {
    async start(spec) {
      mkdirSync(logDir, { recursive: true });
      const log = `${logDir}/decap-${spec.netns ?? 'host'}.log`;
      let from = 0;
      try { from = statSync(log).size; } catch { /* new log */ }
      const argv = [process.execPath, TSVS_BIN, 'realserver', 'decap', '--tun-type', spec.tunType, '--dev', spec.dev,
        ...(spec.tunPort !== undefined ? ['--tun-port', String(spec.tunPort)] : [])];
      const p = startDetached(argv, { log, ...(spec.netns !== undefined ? { netns: spec.netns } : {}) });
      try {
        await waitReady(p, 'the tsvs decapsulator', () => {
          try { return readFileSync(log).subarray(from).toString('utf8').includes('tsvs-decap: ready'); } catch { return false; }
        }, 15_000);
      } catch (e) {
        await stopProcess(p);
        throw e;
      }
      return p;
    },
    running: (p) => isRunning(p),
    async stop(p) {
      const was = await stopProcess(p);
      // The log (readiness line, counters) goes with the process it belongs to.
      if (p.log !== undefined) rmSync(p.log, { force: true });
      return was;
    },
  };
}
