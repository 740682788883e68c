// `tsvs realserver status`: what a real server has and lacks for its forwarding method, each
// finding with the reason it matters (spec §3.1–§3.3 and the field reports behind them).

import type { SysNet } from '../../control/sysnet/sys-net.js';
import { confKey, splitCidr } from '../../control/sysnet/sys-net.js';
import type { ProcessRecord } from '../../control/sysnet/process.js';
import { DECAP_DEV, type UpOptions, pickIface } from './realserver.js';
import type { RsState } from './state.js';

/** One finding: ok, missing (the method breaks), warn (may break), info. */
export interface Check {
  readonly level: 'ok' | 'missing' | 'warn' | 'info';
  readonly text: string;
}

/** What to check for: the real server's target as `up` takes it (placement options aside). */
export type StatusTarget = Omit<UpOptions, 'vipDev' | 'decap'>;

/** Checks the namespace; `st` (the state file) tells which decapsulator process to look for. */
export async function realserverStatus(net: SysNet, t: StatusTarget, st: RsState | undefined, running: (p: ProcessRecord) => boolean): Promise<Check[]> {
  const out: Check[] = [];
  const iface = await pickIface(net, t.iface ?? st?.iface);
  const links = await net.links();
  const addrs = await net.addresses();
  const num = async (key: string): Promise<number> => Number(await net.getSysctl(key) ?? 0);
  // The kernel applies max(conf.all.X, conf.<dev>.X) for arp_ignore, arp_announce and rp_filter.
  const eff = async (name: string, dev: string): Promise<{ v: number; why: string }> => {
    const a = await num(confKey('all', name));
    const d = await num(confKey(dev, name));
    return { v: Math.max(a, d), why: `all=${a}, ${dev}=${d}` };
  };

  if (t.mode === 'nat') {
    const def = (await net.routes('inet')).find((r) => r.dst === 'default');
    const gw = t.gateway ?? st?.gateway;
    if (gw !== undefined) {
      out.push(def?.gateway === gw
        ? { level: 'ok', text: `default route via the director ${gw}: replies pass through it and get the VIP back as source (spec §3.1)` }
        : { level: 'missing', text: `default route is ${def ? `via ${def.gateway ?? 'nothing'}` : 'missing'}, not via the director ${gw}: replies bypass the director, keep this server's address, and clients drop them (spec §3.1)` });
    } else {
      out.push({ level: 'warn', text: `default route is ${def ? `via ${def.gateway ?? 'nothing'} dev ${def.dev ?? '?'}` : 'missing'}: in NAT mode it must be the director (give --gateway DIP to check), or replies bypass the NAT (spec §3.1)` });
    }
    for (const vip of t.vips) {
      const { addr } = splitCidr(vip);
      if (addrs.some((a) => a.local === addr)) out.push({ level: 'warn', text: `VIP ${addr} is configured here: NAT real servers do not need it (the director rewrites the destination to this server's address)` });
    }
    return out;
  }

  for (const vip of t.vips) {
    const { addr } = splitCidr(vip);
    const a = addrs.find((x) => x.local === addr);
    const l = a && links.find((x) => x.ifname === a.ifname);
    if (!a) out.push({ level: 'missing', text: `VIP ${addr} is not configured: the kernel drops packets addressed to it (${t.mode === 'dr' ? 'DR' : 'TUN'} delivers them with the VIP unchanged as destination, spec §3.2/§3.3)` });
    else if (l && !l.noarp) out.push({ level: 'missing', text: `VIP ${addr} is on ${a.ifname}, an interface that answers ARP: this server claims the VIP on the LAN and steals the director's traffic; put it on lo or a dummy device` });
    else out.push({ level: 'ok', text: `VIP ${addr}/${a.prefixlen} on ${a.ifname} (never answers ARP)` });
  }

  const ig = await eff('arp_ignore', iface);
  out.push(ig.v >= 1
    ? { level: 'ok', text: `arp_ignore on ${iface} is ${ig.v} (${ig.why}): ARP for the VIP is answered by the director only` }
    : { level: 'missing', text: `arp_ignore on ${iface} is ${ig.v} (${ig.why}): this server answers ARP for the VIP and steals the director's traffic` });
  const an = await eff('arp_announce', iface);
  out.push(an.v >= 2
    ? { level: 'ok', text: `arp_announce on ${iface} is ${an.v} (${an.why}): ARP requests never carry the VIP as sender` }
    : { level: 'missing', text: `arp_announce on ${iface} is ${an.v} (${an.why}): ARP requests from this server may say "tell <VIP>", and the router then sends the VIP's traffic here` });

  if (t.mode === 'tun') {
    const tunType = t.tunType ?? st?.tunType ?? 'ipip';
    const tunl0 = links.find((l) => l.ifname === 'tunl0');
    const dev = st?.decapDev ?? (tunl0?.up ? 'tunl0' : DECAP_DEV);
    const why = `tunnelled packets (${tunType === 'gue' ? `GUE, UDP port ${t.tunPort ?? st?.tunPort ?? '?'}` : 'IPIP'}) are dropped (spec §3.3)`;
    if (dev === 'tunl0') {
      out.push(tunl0?.up ? { level: 'ok', text: 'kernel decapsulation: tunl0 is up' } : { level: 'missing', text: `tunl0 is down: ${why}` });
    } else {
      const procs = (st?.changes ?? []).filter((c) => c.kind === 'process' && c.what === 'decap').map((c) => (c as { process: ProcessRecord }).process);
      const live = procs.find(running);
      const hasDev = links.some((l) => l.ifname === dev);
      out.push(live && hasDev
        ? { level: 'ok', text: `tsvs decapsulator running (pid ${live.pid}) into ${dev}` }
        : { level: 'missing', text: `no decapsulator (${!hasDev ? `no device ${dev}` : 'tsvs realserver decap is not running'}; the kernel has ${tunl0 ? 'tunl0 but it is down' : 'no ipip module'}): ${why}` });
    }
    if (links.some((l) => l.ifname === dev)) {
      const rp = await eff('rp_filter', dev);
      const v4 = addrs.some((a) => a.ifname === dev && a.family === 'inet');
      out.push(rp.v === 1
        ? { level: 'missing', text: `rp_filter on ${dev} is 1 (strict; ${rp.why}): decapsulated SYNs from clients arrive on ${dev} while the route back leaves via ${iface}, so the kernel drops them` }
        : rp.v === 2 && !v4
          ? { level: 'missing', text: `rp_filter on ${dev} is 2 (loose; ${rp.why}) but ${dev} has no IPv4 address: the kernel rejects every packet arriving there; put the VIP on ${dev} or use rp_filter 0` }
          : { level: 'ok', text: `rp_filter on ${dev} is ${rp.v} (${rp.why}): decapsulated packets are accepted` });
    }
  } else {
    const rp = await eff('rp_filter', iface);
    if (rp.v === 1) out.push({ level: 'info', text: `rp_filter on ${iface} is 1 (strict): fine while the route back to clients leaves via ${iface}; if replies use another interface, the kernel drops the director's packets (spec §3.2)` });
  }
  return out;
}

/** Renders checks, one per line. */
export function formatChecks(checks: readonly Check[]): string {
  const tag = { ok: 'ok     ', missing: 'MISSING', warn: 'WARN   ', info: 'info   ' } as const;
  return checks.map((c) => `  ${tag[c.level]}  ${c.text}\n`).join('');
}
