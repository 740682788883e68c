// The lab's director step: the tsvs daemon with the packet data plane in tsvs-lab-director, and
// the mode's rules through tsvsadm. Kept to one function so the lab works before the daemon's
// packet plane does: when `tsvs run` is missing or cannot start, the namespace stays ready and the
// caller prints the commands to start it by hand.

import type { OffloadMode } from '../../control/config/schema.js';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRunning, logTail, startDetached, stopProcess, waitReady } from '../../control/sysnet/process.js';
import type { LabProcess } from './servers.js';
import type { LabMode } from './topology.js';

/** dist/src/bin/tsvs.js and tsvsadm.js of this build. */
export const TSVS_JS = fileURLToPath(new URL('../../bin/tsvs.js', import.meta.url));
export const TSVSADM_JS = fileURLToPath(new URL('../../bin/tsvsadm.js', import.meta.url));

/** What the director runs. */
export interface DirectorPlan {
  readonly netns: string;
  readonly iface: string;
  readonly mode: LabMode;
  readonly vip: string;
  readonly directorIp: string;
  readonly rips: readonly string[];
  readonly tunType: 'ipip' | 'gue';
  readonly tunPort: number;
  /** Lab directory: control socket, config and log go there. */
  readonly dir: string;
  readonly offload: OffloadMode;
  /** Forwarding workers (dataplane.packet.workers). */
  readonly workers: number;
}

/** Outcome of startDirector. */
export interface DirectorResult {
  readonly started: boolean;
  readonly process?: LabProcess;
  /** Why it did not start (when it did not). */
  readonly reason?: string;
  /** The commands, for the operator to run (by hand when not started). */
  readonly commands: readonly string[];
  readonly controlSocket: string;
}

function sh(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}

function exec(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 10_000): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { env, timeout: timeoutMs }, (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}`.trim() }));
  });
}

/** The tsvsadm rules of a mode: TCP 80 and UDP 53 on the VIP, round robin, every real server (spec §5). */
export function directorRules(p: Pick<DirectorPlan, 'mode' | 'vip' | 'rips' | 'tunType' | 'tunPort'>): string[][] {
  const fwd = { nat: ['-m'], dr: ['-g'], tun: ['-i', ...(p.tunType === 'gue' ? ['--tun-type', 'gue', '--tun-port', String(p.tunPort)] : [])], fullnat: ['--fullnat'] }[p.mode];
  const rules: string[][] = [];
  for (const [proto, port] of [['-t', 80], ['-u', 53]] as const) {
    rules.push(['-A', proto, `${p.vip}:${port}`, '-s', 'rr']);
    for (const rip of p.rips) rules.push(['-a', proto, `${p.vip}:${port}`, '-r', `${rip}:${port}`, ...fwd]);
  }
  return rules;
}

/** True when this build's `tsvs` has a `run` subcommand. */
async function hasRun(): Promise<boolean> {
  const r = await exec([process.execPath, TSVS_JS, '--help'], process.env);
  return /^\s+run\s/m.test(r.out);
}

/**
 * Starts `tsvs run --dataplane packet --iface IF` in the director namespace (private control socket
 * and config in the lab directory), waits for its control socket, then adds the mode's rules with
 * tsvsadm. Never throws for a missing or failing daemon: the result says why and what to run.
 */
export async function startDirector(p: DirectorPlan, record: (proc: LabProcess) => void): Promise<DirectorResult> {
  const controlSocket = join(p.dir, 'tsvs.sock');
  const config = join(p.dir, 'director.yaml');
  // Full NAT sources its connections to the real servers from the director's own address.
  const packet = p.workers > 1 ? `  packet:\n    workers: ${p.workers}\n` : '';
  writeFileSync(config, `# tsvs lab director (${p.mode})\ndataplane:\n  fullnat:\n    localAddresses: [${p.directorIp}]\n${packet}`);
  const runArgv = [process.execPath, TSVS_JS, 'run', '--dataplane', 'packet', '--iface', p.iface, '-c', config, '--control-socket', controlSocket];
  if (p.offload !== 'none') runArgv.push('--offload', p.offload);
  const env = { ...process.env, TSVS_SOCKET: controlSocket };
  const rules = directorRules(p);
  const commands = [
    `ip netns exec ${p.netns} ${sh(runArgv)} &`,
    ...rules.map((r) => `TSVS_SOCKET=${controlSocket} ${sh([process.execPath, TSVSADM_JS, ...r])}`),
  ];
  const notStarted = (reason: string): DirectorResult => ({ started: false, reason, commands, controlSocket });

  if (!(await hasRun())) return notStarted('this build has no `tsvs run` yet');
  const log = join(p.dir, 'director.log');
  let proc: LabProcess;
  try {
    proc = { ...startDetached(runArgv, { netns: p.netns, log, env }), name: 'director tsvs run' };
  } catch (e) {
    return notStarted((e as Error).message);
  }
  record(proc);
  const tsvsadm = (args: readonly string[]): Promise<{ ok: boolean; out: string }> => exec(['ip', 'netns', 'exec', p.netns, process.execPath, TSVSADM_JS, ...args], env);
  try {
    await waitReady(proc, 'tsvs run', async () => (await tsvsadm(['-L', '-n'])).ok, 20_000);
  } catch {
    const exited = !isRunning(proc);
    await stopProcess(proc);
    return notStarted(`tsvs run ${exited ? 'exited' : 'did not answer on its control socket within 20 s'}: ${logTail(log, 1) || '(no output)'} (log ${log})`);
  }
  for (const r of rules) {
    const res = await tsvsadm(r);
    if (!res.ok) return { started: true, process: proc, reason: `\`tsvsadm ${r.join(' ')}\` failed: ${res.out}`, commands, controlSocket };
  }
  return { started: true, process: proc, commands, controlSocket };
}
