// `tsvs realserver up|down|status|decap`: configure a real server correctly for the director's
// forwarding method (DR, TUN, NAT), undo it exactly, and explain what is set and what is missing.

import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { isOneOf } from '../../control/config/schema-values.js';
import { LinuxSysNet } from '../../control/sysnet/linux.js';
import { processLauncher } from './launcher.js';
import { newState, realserverDown, realserverUp } from './realserver.js';
import type { RsDeps, UpOptions } from './realserver.js';
import { defaultStateFile, loadState, removeState, saveState } from './state.js';
import type { RsMode } from './state.js';
import { formatChecks, realserverStatus } from './status.js';

const USAGE = `Usage:
  tsvs realserver up --vip VIP[,VIP...] --mode dr|tun|nat [--iface IF]
                     [--tun-type ipip|gue --tun-port P] [--gateway DIP]
                     [--vip-dev auto|lo|dummy] [--decap auto|kernel|tsvs]
                     [--netns NS] [--state-file F]
  tsvs realserver down   [--netns NS] [--state-file F]
  tsvs realserver status [--vip VIP[,...] --mode dr|tun|nat [--iface IF] [--gateway DIP]] [--netns NS] [--state-file F]
  tsvs realserver decap  --tun-type ipip|gue [--tun-port P] --dev TUNDEV   (started by 'up')

up (dr, tun): arp_ignore=1 and arp_announce=2 on all, the interface facing the director and lo;
  then each VIP as /32 (/128) on a dummy device (where the kernel has the module) or lo.
up (tun): also a decapsulator (the kernel's ipip/fou when they load, else tsvs's own process
  writing inner packets to TUN device tsvs-decap0) and rp_filter loosened on all and that device.
up (nat): checks the default route; with --gateway sets it via the director.
Every change is recorded with its previous value in the state file (default
/run/tsvs/realserver-<netns|host>.json); down restores exactly those and nothing else.
status exits 1 when something the mode needs is missing.
`;

const OPTIONS = {
  vip: { type: 'string' }, mode: { type: 'string' }, iface: { type: 'string' }, 'tun-type': { type: 'string' },
  'tun-port': { type: 'string' }, gateway: { type: 'string' }, 'vip-dev': { type: 'string' }, decap: { type: 'string' },
  netns: { type: 'string' }, 'state-file': { type: 'string' }, dev: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!isOneOf(allowed, v)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}: got '${v}'`);
  return v;
}

class UsageError extends Error {}

function port(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--tun-port must be 1-65535: got '${v}'`);
  return n;
}

function vips(v: string | undefined): string[] {
  if (v === undefined) return [];
  const list = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const x of list) if (isIP(x.split('/')[0]!) === 0) throw new UsageError(`--vip: '${x}' is not an IP address`);
  return list.map((x) => x.split('/')[0]!);
}

function upOptions(v: Values): UpOptions {
  const mode = oneOf<RsMode>('mode', v.mode, ['dr', 'tun', 'nat']);
  if (mode === undefined) throw new UsageError('up needs --mode dr|tun|nat');
  const list = vips(v.vip);
  if (list.length === 0 && mode !== 'nat') throw new UsageError(`up --mode ${mode} needs --vip`);
  if (v.gateway !== undefined && isIP(v.gateway) !== 4) throw new UsageError(`--gateway must be an IPv4 address: got '${v.gateway}'`);
  const tunType = oneOf('tun-type', v['tun-type'], ['ipip', 'gue'] as const);
  const tunPort = port(v['tun-port']);
  const vipDev = oneOf('vip-dev', v['vip-dev'], ['auto', 'lo', 'dummy'] as const);
  const decap = oneOf('decap', v.decap, ['auto', 'kernel', 'tsvs'] as const);
  return {
    mode, vips: list,
    ...(v.iface !== undefined ? { iface: v.iface } : {}),
    ...(tunType !== undefined ? { tunType } : {}),
    ...(tunPort !== undefined ? { tunPort } : {}),
    ...(v.gateway !== undefined ? { gateway: v.gateway } : {}),
    ...(vipDev !== undefined ? { vipDev } : {}),
    ...(decap !== undefined ? { decap } : {}),
  };
}

/** Entry point of `tsvs realserver`. */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  let v: Values;
  try {
    v = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    process.stderr.write(`tsvs realserver: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (sub === undefined || sub === 'help' || v.help || sub === '-h' || sub === '--help') {
    process.stdout.write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  try {
    return await dispatch(sub, v);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tsvs realserver: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`tsvs realserver ${sub}: ${(e as Error).message}\n`);
    return 1;
  }
}

async function dispatch(sub: string, v: Values): Promise<number> {
  const say = (l: string): void => { process.stdout.write(`${l}\n`); };
  if (sub === 'decap') {
    const tunType = oneOf('tun-type', v['tun-type'], ['ipip', 'gue'] as const);
    if (tunType === undefined || v.dev === undefined) throw new UsageError('decap needs --tun-type and --dev');
    const { runDecap } = await import('./decap.js');
    const tunPort = port(v['tun-port']);
    return runDecap({ tunType, dev: v.dev, ...(tunPort !== undefined ? { tunPort } : {}) });
  }
  const netns = v.netns;
  const file = v['state-file'] ?? defaultStateFile(netns);
  const net = new LinuxSysNet(netns);
  const deps: RsDeps = { net, launcher: processLauncher(), say, persist: (st) => saveState(file, st) };
  const where = netns === undefined ? 'this host' : `netns ${netns}`;
  switch (sub) {
    case 'up': {
      const o = upOptions(v);
      const st = loadState(file) ?? newState(netns, o.mode);
      if ((st.netns ?? undefined) !== netns) throw new Error(`state file ${file} belongs to ${st.netns === null ? 'the host' : `netns ${st.netns}`}, not ${where}`);
      say(`tsvs realserver up: ${o.mode} on ${where}${o.vips.length ? `, VIP ${o.vips.join(', ')}` : ''}`);
      try {
        await realserverUp(deps, st, o);
      } catch (e) {
        say(`up stopped part-way; what it changed is recorded in ${file}: run 'tsvs realserver down${netns ? ` --netns ${netns}` : ''}' to undo it`);
        throw e;
      }
      saveState(file, st);
      say(`recorded ${st.changes.length} change(s) in ${file}; 'tsvs realserver down${netns ? ` --netns ${netns}` : ''}' undoes them`);
      return 0;
    }
    case 'down': {
      const st = loadState(file);
      if (!st) { say(`nothing to undo: no state file ${file}`); return 0; }
      const failed = await realserverDown(deps, st);
      if (failed.length === 0) { removeState(file); say(`${where} restored (${st.changes.length} change(s) undone)`); return 0; }
      st.changes = failed;
      saveState(file, st);
      say(`${failed.length} change(s) could not be undone; kept in ${file}`);
      return 1;
    }
    case 'status': {
      const st = loadState(file);
      const mode = oneOf<RsMode>('mode', v.mode, ['dr', 'tun', 'nat']) ?? st?.mode;
      if (mode === undefined) throw new UsageError(`status needs --mode (and --vip) when there is no state file (${file})`);
      const list = v.vip !== undefined ? vips(v.vip) : st?.vips ?? [];
      const tunType = oneOf('tun-type', v['tun-type'], ['ipip', 'gue'] as const);
      const tunPort = port(v['tun-port']);
      const checks = await realserverStatus(net, {
        mode, vips: list,
        ...(v.iface !== undefined ? { iface: v.iface } : {}),
        ...(tunType !== undefined ? { tunType } : {}),
        ...(tunPort !== undefined ? { tunPort } : {}),
        ...(v.gateway !== undefined ? { gateway: v.gateway } : {}),
      }, st, deps.launcher.running);
      say(`real server (${mode}) on ${where}${list.length ? `, VIP ${list.join(', ')}` : ''}${st ? ` — state ${file}, ${st.changes.length} recorded change(s)` : ' — not set up by tsvs (no state file)'}`);
      process.stdout.write(formatChecks(checks));
      return checks.some((c) => c.level === 'missing') ? 1 : 0;
    }
    default:
      throw new UsageError(`unknown subcommand '${sub}'`);
  }
}
