// `tsvs lab up|down|status`: builds each forwarding mode's topology in network namespaces on this
// machine (topology.ts), with real HTTP/DNS servers on every real server (servers.ts), `tsvs
// realserver up` inside each DR/TUN real server, and the director (director.ts). Everything created
// is recorded in the lab state file as soon as it exists, so `down` (or a failed `up`) removes
// exactly that.

import type { OffloadMode } from '../../control/config/schema.js';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LinuxSysNet } from '../../control/sysnet/linux.js';
import { isRunning, stopProcess } from '../../control/sysnet/process.js';
import { processLauncher } from '../realserver/launcher.js';
import { newState, realserverDown, realserverUp } from '../realserver/realserver.js';
import type { RsDeps } from '../realserver/realserver.js';
import { loadState, removeState, saveState } from '../realserver/state.js';
import { startDirector, TSVSADM_JS } from './director.js';
import type { DirectorResult } from './director.js';
import { LAB_DNS_NAME, startServers } from './servers.js';
import type { LabProcess } from './servers.js';
import { buildTopology, deleteNamespace, LAB, listNamespaces, rsIp, rsName } from './topology.js';
import type { LabMode } from './topology.js';

/** Default lab directory (state, configs, logs, web roots). */
export const LAB_DIR = '/run/tsvs/lab';

/** The lab state file's content. */
export interface LabState {
  version: 1;
  mode: LabMode;
  servers: number;
  tunType: 'ipip' | 'gue';
  tunPort: number;
  dir: string;
  namespaces: string[];
  processes: LabProcess[];
  realservers: { netns: string; stateFile: string }[];
  director?: Omit<DirectorResult, 'process'>;
}

/** Options of `tsvs lab up`. */
export interface LabUpOptions {
  readonly mode: LabMode;
  readonly servers: number;
  readonly tunType: 'ipip' | 'gue';
  readonly tunPort: number;
  readonly dir: string;
  /** The director's XDP fast path (tsvs run --offload). */
  readonly offload?: OffloadMode;
  /** The director's forwarding workers (dataplane.packet.workers). */
  readonly workers?: number;
}

function stateFile(dir: string): string {
  return join(dir, 'state.json');
}

function save(st: LabState): void {
  const f = stateFile(st.dir);
  writeFileSync(`${f}.tmp`, `${JSON.stringify(st, null, 2)}\n`);
  renameSync(`${f}.tmp`, f);
}

/** Reads the lab state; undefined when no lab is up. */
export function loadLab(dir: string): LabState | undefined {
  const f = stateFile(dir);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, 'utf8')) as LabState;
}

function rsDeps(netns: string, st: LabState, stateFile: string, say: (l: string) => void): RsDeps {
  return { net: new LinuxSysNet(netns), launcher: processLauncher(st.dir), say: (l) => say(`  [${netns}] ${l}`), persist: (s) => saveState(stateFile, s) };
}

/** Builds the lab; on failure removes what it built and rethrows. */
export async function labUp(o: LabUpOptions, say: (l: string) => void): Promise<LabState> {
  if (loadLab(o.dir)) throw new Error(`a lab is already up (state ${stateFile(o.dir)}): run 'tsvs lab down' first`);
  const clash = (await listNamespaces()).filter((n) => n.startsWith('tsvs-lab-'));
  if (clash.length) throw new Error(`namespaces ${clash.join(', ')} exist but no lab state does: remove them (ip netns del NAME) or run 'tsvs lab down' with the old state`);
  mkdirSync(o.dir, { recursive: true });
  const st: LabState = { version: 1, mode: o.mode, servers: o.servers, tunType: o.tunType, tunPort: o.tunPort, dir: o.dir, namespaces: [], processes: [], realservers: [] };
  save(st);
  const recordProc = (p: LabProcess): void => { st.processes.push(p); save(st); };
  try {
    say(`building the ${o.mode} lab: client, router, director, ${o.servers} real server(s)`);
    await buildTopology(o.mode, o.servers, (ns) => { st.namespaces.push(ns); save(st); });
    for (let i = 1; i <= o.servers; i++) {
      const ns = rsName(i);
      // DR/TUN deliver packets still addressed to the VIP: DNS must listen there too (HTTP listens on all addresses).
      const vipToo = o.mode === 'dr' || o.mode === 'tun';
      if (vipToo) {
        const rsState = join(o.dir, `realserver-${ns}.json`);
        st.realservers.push({ netns: ns, stateFile: rsState });
        save(st);
        say(`tsvs realserver up --netns ${ns} --vip ${LAB.vip} --mode ${o.mode} --iface ${LAB.iface}${o.mode === 'tun' ? ` --tun-type ${o.tunType}${o.tunType === 'gue' ? ` --tun-port ${o.tunPort}` : ''}` : ''}`);
        const rst = newState(ns, o.mode);
        await realserverUp(rsDeps(ns, st, rsState, say), rst, {
          mode: o.mode as 'dr' | 'tun', vips: [LAB.vip], iface: LAB.iface,
          ...(o.mode === 'tun' ? { tunType: o.tunType, tunPort: o.tunPort } : {}),
        });
        saveState(rsState, rst);
      }
      await startServers({ name: `rs${i}`, netns: ns, ip: rsIp(i), dnsAddrs: vipToo ? [rsIp(i), LAB.vip] : [rsIp(i)], dir: join(o.dir, `rs${i}`) }, recordProc);
      say(`rs${i} (${rsIp(i)}): HTTP on :80 (index.html names it, big.bin is 100 MB), DNS on :53 (${LAB_DNS_NAME} TXT "rs${i}")`);
    }
    const d = await startDirector({
      netns: LAB.director, iface: LAB.iface, mode: o.mode, vip: LAB.vip, directorIp: LAB.directorIp,
      rips: Array.from({ length: o.servers }, (_, i) => rsIp(i + 1)), tunType: o.tunType, tunPort: o.tunPort, dir: o.dir,
      offload: o.offload ?? 'none', workers: o.workers ?? 1,
    }, recordProc);
    st.director = { started: d.started, commands: d.commands, controlSocket: d.controlSocket, ...(d.reason !== undefined ? { reason: d.reason } : {}) };
    save(st);
  } catch (e) {
    say(`lab up failed: ${(e as Error).message}\nremoving what was built`);
    await labDown(o.dir, say);
    throw e;
  }
  say(howTo(st));
  return st;
}

/** The "try it" text. */
export function howTo(st: LabState): string {
  const lines: string[] = [''];
  const d = st.director;
  if (d?.started && d.reason === undefined) lines.push(`director: tsvs run (packet plane) is running in ${LAB.director} with the ${st.mode} rules`);
  else {
    lines.push(`director: not running${d?.reason ? ` (${d.reason})` : ''}. ${LAB.director} is ready; start it with:`);
    for (const c of d?.commands ?? []) lines.push(`  ${c}`);
  }
  lines.push('', 'try it:',
    `  ip netns exec ${LAB.client} curl -s http://${LAB.vip}/                       # a page naming the real server`,
    `  ip netns exec ${LAB.client} curl -so /dev/null -w '%{speed_download} B/s\\n' http://${LAB.vip}/big.bin`,
    `  ip netns exec ${LAB.client} dig +short @${LAB.vip} ${LAB_DNS_NAME} TXT`,
    `  TSVS_SOCKET=${d?.controlSocket ?? join(st.dir, 'tsvs.sock')} node ${TSVSADM_JS} -L -n --stats`,
    `  ip netns exec ${LAB.client} curl -s http://${rsIp(1)}/                        # a real server directly`,
    ...(st.realservers.length ? [`  tsvs realserver status --netns ${rsName(1)} --state-file ${st.realservers[0]!.stateFile}`] : []),
    ...(st.mode === 'nat' ? [`  tsvs realserver status --netns ${rsName(1)} --mode nat --gateway ${LAB.directorIp}`] : []),
    'remove everything: tsvs lab down');
  return lines.join('\n');
}

/** Removes exactly what the lab state records; returns the number of things that could not be removed. */
export async function labDown(dir: string, say: (l: string) => void): Promise<number> {
  const st = loadLab(dir);
  if (!st) {
    const left = (await listNamespaces()).filter((n) => n.startsWith('tsvs-lab-'));
    say(`no lab state in ${dir}: nothing to remove${left.length ? ` (namespaces ${left.join(', ')} exist but were not recorded: ip netns del NAME)` : ''}`);
    return 0;
  }
  let failures = 0;
  for (const p of [...st.processes].reverse()) {
    if (await stopProcess(p)) say(`stopped ${p.name} (pid ${p.pid})`);
  }
  for (const r of [...st.realservers].reverse()) {
    const rst = loadState(r.stateFile);
    if (!rst) continue;
    if (!(await listNamespaces()).includes(r.netns)) { removeState(r.stateFile); continue; }
    const failed = await realserverDown(rsDeps(r.netns, st, r.stateFile, () => { /* the namespace goes next */ }), rst);
    if (failed.length) { failures += failed.length; say(`${r.netns}: ${failed.length} realserver change(s) not undone`); } else removeState(r.stateFile);
  }
  for (const ns of [...st.namespaces].reverse()) {
    try {
      if (await deleteNamespace(ns)) say(`removed netns ${ns}`);
    } catch (e) {
      failures++;
      say(`could not remove netns ${ns}: ${(e as Error).message}`);
    }
  }
  if (failures === 0) {
    rmSync(st.dir, { recursive: true, force: true });
    say('lab removed');
  } else say(`${failures} thing(s) could not be removed; state kept in ${stateFile(dir)}`);
  return failures;
}

/** One line per namespace and process: exists/running or not. */
export async function labStatus(dir: string): Promise<{ text: string; healthy: boolean }> {
  const st = loadLab(dir);
  if (!st) return { text: `no lab is up (no state in ${dir})\n`, healthy: true };
  const present = new Set(await listNamespaces());
  const lines = [`lab: ${st.mode}, ${st.servers} real server(s)${st.mode === 'tun' ? `, tunnel ${st.tunType}${st.tunType === 'gue' ? ` port ${st.tunPort}` : ''}` : ''}, state ${stateFile(dir)}`];
  let healthy = true;
  for (const ns of st.namespaces) {
    const ok = present.has(ns);
    healthy &&= ok;
    lines.push(`  ${ok ? 'ok     ' : 'MISSING'}  netns ${ns}`);
  }
  for (const p of st.processes) {
    if (p.name === 'director tsvs run' && !st.director?.started) continue;
    const ok = isRunning(p);
    healthy &&= ok;
    lines.push(`  ${ok ? 'ok     ' : 'STOPPED'}  ${p.name} (pid ${p.pid})`);
  }
  for (const r of st.realservers) {
    const rst = loadState(r.stateFile);
    const decap = rst?.changes.find((c) => c.kind === 'process');
    lines.push(`  ${rst ? 'ok     ' : 'MISSING'}  tsvs realserver state of ${r.netns}${decap && decap.kind === 'process' ? `, decapsulator pid ${decap.process.pid} ${isRunning(decap.process) ? 'running' : 'STOPPED'}` : ''}`);
  }
  if (!st.director?.started) lines.push(`  info     director not running${st.director?.reason ? `: ${st.director.reason}` : ''}`);
  return { text: `${lines.join('\n')}\n${howTo(st)}\n`, healthy };
}
