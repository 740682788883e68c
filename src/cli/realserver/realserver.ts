// `tsvs realserver up` and `down`: prepare a real server for the director's forwarding method
// (spec §3.1–§3.3) and undo exactly what was changed. Works against any SysNet (the unit tests use
// the in-memory fake); every change is appended to the state and persisted at once.

import type { SysNet } from '../../control/sysnet/sys-net.js';
import { confKey, splitCidr } from '../../control/sysnet/sys-net.js';
import type { ProcessRecord } from '../../control/sysnet/process.js';
import type { Change, RsMode, RsState } from './state.js';

/** TUN device that tsvs's decapsulator writes inner packets to. */
export const DECAP_DEV = 'tsvs-decap0';
/** Dummy device holding the VIPs where the kernel has the dummy module. */
export const DUMMY_DEV = 'tsvs-vip0';

/** Starts and stops the decapsulator process (real: src/cli/realserver/launcher.ts; tests: a fake). */
export interface DecapLauncher {
  /** Starts `tsvs realserver decap` in the namespace and resolves once it is receiving. */
  start(spec: { netns?: string; tunType: 'ipip' | 'gue'; tunPort?: number; dev: string }): Promise<ProcessRecord>;
  /** True while the recorded process runs. */
  running(p: ProcessRecord): boolean;
  /** Stops it; false when it was not running. */
  stop(p: ProcessRecord): Promise<boolean>;
}

/** What up/down act on. */
export interface RsDeps {
  readonly net: SysNet;
  readonly launcher: DecapLauncher;
  /** One line of human output. */
  readonly say: (line: string) => void;
  /** Persists the state (called after every change). */
  readonly persist: (st: RsState) => void;
}

/** Options of `tsvs realserver up`. */
export interface UpOptions {
  readonly mode: RsMode;
  readonly vips: readonly string[];
  readonly iface?: string;
  readonly tunType?: 'ipip' | 'gue';
  readonly tunPort?: number;
  readonly gateway?: string;
  /** Where the VIPs go: lo, a dummy device, or auto (dummy when the kernel has the module, else lo). */
  readonly vipDev?: 'auto' | 'lo' | 'dummy';
  /** Tunnel decapsulation: the kernel's ipip/fou, tsvs's own, or auto (kernel when its modules load). */
  readonly decap?: 'auto' | 'kernel' | 'tsvs';
}

/** A fresh state for a namespace. */
export function newState(netns: string | undefined, mode: RsMode): RsState {
  return { version: 1, netns: netns ?? null, mode, vips: [], changes: [] };
}

/** The interface facing the director: --iface, else the default route's device, else the only addressed one. */
export async function pickIface(net: SysNet, iface?: string): Promise<string> {
  const links = await net.links();
  if (iface !== undefined) {
    if (!links.some((l) => l.ifname === iface)) throw new Error(`Cannot use --iface ${iface}: no such interface${net.netns ? ` in netns ${net.netns}` : ''} (have: ${links.map((l) => l.ifname).join(', ')})`);
    return iface;
  }
  const def = (await net.routes('inet')).find((r) => r.dst === 'default' && r.dev !== undefined);
  if (def) return def.dev!;
  const addressed = new Set((await net.addresses()).filter((a) => a.family === 'inet' && a.ifname !== 'lo').map((a) => a.ifname));
  const cands = links.filter((l) => l.ifname !== 'lo' && l.up && addressed.has(l.ifname)).map((l) => l.ifname);
  if (cands.length === 1) return cands[0]!;
  throw new Error(`Cannot pick the interface facing the director (no default route; candidates: ${cands.join(', ') || 'none'}): use --iface`);
}

/** Host prefix of an address: /32 for IPv4, /128 for IPv6. */
export function hostCidr(vip: string): string {
  const { addr } = splitCidr(vip);
  return `${addr}/${addr.includes(':') ? 128 : 32}`;
}

/** Applies `up`; returns the state (also persisted after each change). */
export async function realserverUp(deps: RsDeps, st: RsState, o: UpOptions): Promise<RsState> {
  const { net, say } = deps;
  const record = (c: Change): void => { st.changes.push(c); deps.persist(st); };
  st.mode = o.mode;
  for (const v of o.vips) if (!st.vips.includes(v)) st.vips.push(v);

  // Raises a sysctl to at least `want` (a stricter value already there is the operator's and stays).
  const atLeast = async (key: string, want: number, why: string): Promise<void> => {
    const cur = await net.getSysctl(key);
    if (cur === undefined) throw new Error(`Cannot set ${key}: no such sysctl${net.netns ? ` in netns ${net.netns}` : ''}`);
    if (Number(cur) >= want) { say(`${key} = ${cur} already (${why})`); return; }
    await net.setSysctl(key, String(want));
    record({ kind: 'sysctl', key, previous: cur, value: String(want) });
    say(`${key}: ${cur} -> ${want} (${why})`);
  };

  const iface = await pickIface(net, o.iface ?? st.iface);
  st.iface = iface;
  deps.persist(st);

  if (o.mode === 'nat') {
    await natGateway(deps, st, iface, o.gateway, record);
    return st;
  }

  // ARP first, VIPs last: a VIP added while arp_ignore is still 0 would be answered for at once,
  // and the router would learn this server's MAC for the VIP (seed reports 000/002, spec §3.2).
  // Effective arp_ignore/arp_announce on an interface is max(all, interface): set both, plus lo.
  for (const dev of ['all', iface, 'lo']) {
    await atLeast(confKey(dev, 'arp_ignore'), 1, 'answer ARP only for addresses on the receiving interface, so never for the VIP');
    await atLeast(confKey(dev, 'arp_announce'), 2, 'never use the VIP as the sender address of ARP requests');
  }

  if (o.mode === 'tun') await tunnel(deps, st, o, record);

  // Tunnel mode: the VIPs go on the decapsulating device itself (tunl0, or tsvs's TUN device), as
  // in the classic tunl0 recipe. Loose rp_filter drops every packet arriving on an interface that
  // has no IPv4 address at all (fib_validate_source: no_addr -> last_resort -> reject when rpf is
  // set), so the device must hold an address, and the VIP is the natural one. It never answers
  // ARP there (tun/ipip devices have no link layer).
  const vipDev = o.mode === 'tun' && st.decapDev !== undefined ? st.decapDev : await pickVipDev(deps, st, o.vipDev ?? 'auto', record);
  const links = await net.links();
  const addrs = await net.addresses();
  for (const vip of o.vips) {
    const { addr } = splitCidr(vip);
    const have = addrs.find((a) => a.local === addr);
    if (have) {
      const l = links.find((x) => x.ifname === have.ifname);
      if (l && !l.noarp && l.kind !== 'dummy') {
        throw new Error(`Cannot use VIP ${addr}: it is already on ${have.ifname}, an interface that answers ARP, so this server would claim the VIP on the LAN and steal the director's traffic; remove it (ip addr del ${addr}/${have.prefixlen} dev ${have.ifname}) and run up again`);
      }
      say(`VIP ${addr} already on ${have.ifname} (left as it is)`);
      continue;
    }
    const cidr = hostCidr(addr);
    await net.addAddress(vipDev, cidr);
    record({ kind: 'address', dev: vipDev, cidr });
    say(`VIP ${cidr} added on ${vipDev} (the kernel accepts packets addressed to the VIP; ${vipDev} never answers ARP)`);
  }
  return st;
}

async function pickVipDev(deps: RsDeps, st: RsState, want: 'auto' | 'lo' | 'dummy', record: (c: Change) => void): Promise<string> {
  if (st.vipDev !== undefined) return st.vipDev;
  const { net } = deps;
  if (want !== 'lo') {
    if ((await net.links()).some((l) => l.ifname === DUMMY_DEV)) {
      st.vipDev = DUMMY_DEV;
      return DUMMY_DEV;
    }
    try {
      await net.addLink({ name: DUMMY_DEV, kind: 'dummy' });
      record({ kind: 'link', name: DUMMY_DEV, type: 'dummy' });
      await net.setLinkUp(DUMMY_DEV, true);
      st.vipDev = DUMMY_DEV;
      deps.say(`created dummy device ${DUMMY_DEV} for the VIPs`);
      return DUMMY_DEV;
    } catch (e) {
      if (want === 'dummy') throw new Error(`Cannot create dummy device ${DUMMY_DEV} for the VIPs (does the kernel have the dummy module?): ${(e as Error).message}`);
    }
  }
  st.vipDev = 'lo';
  // lo must be up for its addresses to be local (a fresh namespace has it down).
  const lo = (await net.links()).find((l) => l.ifname === 'lo');
  if (lo && !lo.up) {
    await net.setLinkUp('lo', true);
    record({ kind: 'link-up', name: 'lo' });
  }
  return 'lo';
}

async function tunnel(deps: RsDeps, st: RsState, o: UpOptions, record: (c: Change) => void): Promise<void> {
  const { net, say } = deps;
  const tunType = o.tunType ?? st.tunType ?? 'ipip';
  const tunPort = o.tunPort ?? st.tunPort;
  if (tunType === 'gue' && (tunPort === undefined || !(tunPort > 0 && tunPort < 65536))) {
    throw new Error('Cannot set up a GUE tunnel without --tun-port (1-65535): the director sends GUE to that UDP port (spec §3.3, the kernel rejects 0)');
  }
  st.tunType = tunType;
  if (tunPort !== undefined) st.tunPort = tunPort;
  const want = o.decap ?? 'auto';
  let kernel = false;
  if (want !== 'tsvs') {
    kernel = await net.loadModule('ipip') && (tunType === 'ipip' || await net.loadModule('fou'))
      && (await net.links()).some((l) => l.ifname === 'tunl0');
    if (!kernel && want === 'kernel') throw new Error(`Cannot use the kernel's decapsulation: modprobe ipip${tunType === 'gue' ? '/fou' : ''} failed (no module); use --decap tsvs`);
  }
  let dev: string;
  if (kernel) {
    dev = 'tunl0';
    st.decap = 'kernel';
    const tl = (await net.links()).find((l) => l.ifname === 'tunl0')!;
    if (!tl.up) { await net.setLinkUp('tunl0', true); record({ kind: 'link-up', name: 'tunl0' }); }
    if (tunType === 'gue') {
      try {
        await net.ip(['fou', 'add', 'port', String(tunPort), 'gue']);
        record({ kind: 'fou', port: tunPort! });
        say(`kernel GUE receive port ${tunPort} added (fou), decapsulating into tunl0`);
      } catch (e) {
        if (!/File exists/i.test((e as Error).message)) throw e;
        say(`kernel GUE receive port ${tunPort} already configured`);
      }
    } else say('kernel ipip module loaded: tunl0 decapsulates');
  } else {
    dev = DECAP_DEV;
    st.decap = 'tsvs';
    if (!(await net.links()).some((l) => l.ifname === dev)) {
      await net.addLink({ name: dev, kind: 'tun' });
      record({ kind: 'link', name: dev, type: 'tun' });
    }
    await net.setLinkUp(dev, true);
  }
  st.decapDev = dev;
  deps.persist(st);

  // Decapsulated packets arrive on `dev` from the client's address, but the route back to the
  // client leaves through the LAN interface: strict rp_filter (1) drops them (seed report 000,
  // spec §3.3). The kernel uses max(conf.all.rp_filter, conf.<dev>.rp_filter), so relaxing the
  // device alone is not enough when "all" is 1; loose mode (2) keeps the "is the source routable
  // at all" check.
  for (const d of ['all', dev]) {
    const key = confKey(d, 'rp_filter');
    const cur = await net.getSysctl(key);
    if (cur === '1') {
      await net.setSysctl(key, '2');
      record({ kind: 'sysctl', key, previous: cur, value: '2' });
      say(`${key}: 1 -> 2 (loose: decapsulated packets arrive on ${dev} but their route back leaves elsewhere)`);
    }
  }

  if (!kernel) {
    const running = st.changes.find((c) => c.kind === 'process' && c.what === 'decap' && deps.launcher.running(c.process));
    if (running) { say(`decapsulator already running (pid ${(running as { process: ProcessRecord }).process.pid})`); return; }
    const p = await deps.launcher.start({ ...(st.netns !== null ? { netns: st.netns } : {}), tunType, ...(tunPort !== undefined ? { tunPort } : {}), dev });
    record({ kind: 'process', what: 'decap', process: p });
    say(`tsvs decapsulator started (pid ${p.pid}): ${tunType === 'gue' ? `GUE on UDP port ${tunPort}` : 'IPIP (protocols 4, 41)'} -> ${dev} (no kernel ipip${tunType === 'gue' ? '/fou' : ''} module)`);
  }
}

async function natGateway(deps: RsDeps, st: RsState, iface: string, gateway: string | undefined, record: (c: Change) => void): Promise<void> {
  const { net, say } = deps;
  const def = (await net.routes('inet')).find((r) => r.dst === 'default');
  if (gateway === undefined) {
    say(`NAT: the default route is ${def ? `via ${def.gateway ?? '(none)'} dev ${def.dev ?? '?'}` : 'missing'}; it must go via the director (--gateway DIP), or replies bypass the director, keep the real server's address, and clients drop them (spec §3.1)`);
    return;
  }
  st.gateway = gateway;
  if (def?.gateway === gateway) { say(`NAT: default route already via the director ${gateway}`); return; }
  await net.replaceRoute('default', gateway, iface);
  record({ kind: 'route', dst: 'default', gateway, dev: iface, previous: def ? { ...(def.gateway !== undefined ? { gateway: def.gateway } : {}), ...(def.dev !== undefined ? { dev: def.dev } : {}) } : null });
  say(`NAT: default route ${def ? `via ${def.gateway} ` : ''}-> via ${gateway} dev ${iface}, so replies pass through the director and get the VIP back as source (spec §3.1)`);
}

/** Undoes every recorded change in reverse order; returns the changes that could not be undone. */
export async function realserverDown(deps: RsDeps, st: RsState): Promise<Change[]> {
  const { say } = deps;
  const created = new Set(st.changes.filter((c) => c.kind === 'link').map((c) => (c as { name: string }).name));
  const failed: Change[] = [];
  for (const c of [...st.changes].reverse()) {
    try {
      await undo(deps, c, created);
    } catch (e) {
      failed.unshift(c);
      say(`could not undo ${describe(c)}: ${(e as Error).message}`);
    }
  }
  return failed;
}

function describe(c: Change): string {
  switch (c.kind) {
    case 'sysctl': return `${c.key}=${c.value} (was ${c.previous})`;
    case 'address': return `address ${c.cidr} on ${c.dev}`;
    case 'link': return `${c.type} device ${c.name}`;
    case 'link-up': return `${c.name} up`;
    case 'route': return `route ${c.dst} via ${c.gateway}`;
    case 'fou': return `fou port ${c.port}`;
    case 'process': return `${c.what} process ${c.process.pid}`;
  }
}

async function undo(deps: RsDeps, c: Change, created: Set<string>): Promise<void> {
  const { net, say } = deps;
  switch (c.kind) {
    case 'process':
      say(await deps.launcher.stop(c.process) ? `stopped ${c.what} (pid ${c.process.pid})` : `${c.what} (pid ${c.process.pid}) was not running`);
      return;
    case 'fou':
      await net.ip(['fou', 'del', 'port', String(c.port)]);
      say(`removed kernel GUE port ${c.port}`);
      return;
    case 'route': {
      const def = (await net.routes('inet')).find((r) => r.dst === c.dst);
      if (def?.gateway !== c.gateway) { say(`route ${c.dst} no longer via ${c.gateway} (now ${def?.gateway ?? 'none'}): left alone`); return; }
      if (c.previous?.gateway !== undefined) await net.replaceRoute(c.dst, c.previous.gateway, c.previous.dev);
      else await net.delRoute(c.dst, c.gateway);
      say(`route ${c.dst} restored to ${c.previous?.gateway !== undefined ? `via ${c.previous.gateway}` : 'none'}`);
      return;
    }
    case 'address': {
      const { addr } = splitCidr(c.cidr);
      if (!(await net.addresses()).some((a) => a.ifname === c.dev && a.local === addr)) { say(`${c.cidr} already gone from ${c.dev}`); return; }
      await net.delAddress(c.dev, c.cidr);
      say(`removed ${c.cidr} from ${c.dev}`);
      return;
    }
    case 'link':
      if ((await net.links()).some((l) => l.ifname === c.name)) { await net.delLink(c.name); say(`removed ${c.type} device ${c.name}`); }
      return;
    case 'link-up':
      if (!created.has(c.name) && (await net.links()).some((l) => l.ifname === c.name)) { await net.setLinkUp(c.name, false); say(`set ${c.name} down again`); }
      return;
    case 'sysctl': {
      // Settings of a device this tool created vanish with it.
      if ([...created].some((n) => c.key.startsWith(`net.ipv4.conf.${n}.`))) return;
      const cur = await net.getSysctl(c.key);
      if (cur === undefined) return;
      if (cur !== c.value) { say(`${c.key} is ${cur}, not the ${c.value} set by up: someone changed it since, left alone`); return; }
      await net.setSysctl(c.key, c.previous);
      say(`${c.key}: ${c.value} -> ${c.previous} (restored)`);
      return;
    }
  }
}
