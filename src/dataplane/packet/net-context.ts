// The engine's NetContext on Linux. The main thread gathers the facts (`ip -j addr`, `ip -j route`,
// `ip -j neigh`) and sends them to the forwarding workers, which answer nextHop() from the routes
// plus their neighbour cache (itself completed by ARP/NDP the worker sees and asks for).
import { execFile } from 'node:child_process';
import { type IpAddress, inPrefix, ipKey, ipv4ToU32, parseIp } from '../../core/net/addr.js';
import { parseMac } from '../../core/packet/ethernet.js';
import type { InterfaceInfo, NetContext, NextHop } from '../../core/engine-contract.js';
import { type NeighbourCache, type NeighbourFact, parseIpNeigh } from './neighbour.js';
import { UNRESOLVED_MAC } from './held-frames.js';
import { type VethPeerRef, withPeerMacs } from './veth-peer.js';

/** One address on an interface, with its prefix. */
export interface AddrFact {
  readonly addr: IpAddress;
  readonly prefixLen: number;
  /** 'global', 'link', 'host'... as ip reports it. */
  readonly scope: string;
}

/** One interface as `ip -j addr` reports it. */
export interface InterfaceFact {
  readonly ifIndex: number;
  readonly name: string;
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly up: boolean;
  readonly addrs: readonly AddrFact[];
  /**
   * The bridge or bond this interface is a port of (`master`), whose receive handler takes every
   * frame before protocol delivery.
   */
  readonly master?: string;
  /** A veth's peer in another namespace (`link_netnsid`, `link_index` of `ip -j -d addr`). */
  readonly vethPeer?: VethPeerRef;
  /**
   * That peer's MAC, when the veth's egress is plain (veth-peer.ts): the fast path delivers frames
   * whose next hop is the peer itself straight into the peer's receive path.
   */
  readonly peerMac?: Uint8Array;
}

/** One unicast route of the main table. */
export interface RouteFact {
  readonly dst: IpAddress;
  readonly prefixLen: number;
  readonly gateway?: IpAddress;
  readonly ifIndex: number;
  readonly prefsrc?: IpAddress;
  readonly metric: number;
}

/** Everything the workers need to know about the director's network (structured-clone friendly). */
export interface NetFacts {
  readonly interfaces: readonly InterfaceFact[];
  readonly routes: readonly RouteFact[];
  readonly neighbours: readonly NeighbourFact[];
}

type Json = Record<string, unknown>;

/** Parses `ip -j addr` output. */
export function parseIpAddr(json: unknown): InterfaceFact[] {
  if (!Array.isArray(json)) throw new Error('Cannot read ip -j addr output as it is not a JSON array');
  const out: InterfaceFact[] = [];
  for (const e of json as Json[]) {
    if (typeof e.ifindex !== 'number' || typeof e.ifname !== 'string') continue;
    const addrs: AddrFact[] = [];
    for (const a of (Array.isArray(e.addr_info) ? e.addr_info : []) as Json[]) {
      // An IPv6 address still in duplicate address detection (or that failed it) is not the
      // interface's yet: the kernel delivers nothing to it, and it must not be a source (RFC 4862).
      if (a.tentative === true || a.dadfailed === true) continue;
      const ip = typeof a.local === 'string' ? parseIp(a.local) : undefined;
      if (ip && typeof a.prefixlen === 'number') addrs.push({ addr: ip, prefixLen: a.prefixlen, scope: String(a.scope ?? 'global') });
    }
    const flags = Array.isArray(e.flags) ? (e.flags as unknown[]).map(String) : [];
    const kind = (e.linkinfo as Json | undefined)?.info_kind;
    const vethPeer = kind === 'veth' && typeof e.link_netnsid === 'number' && typeof e.link_index === 'number'
      ? { nsid: e.link_netnsid, ifIndex: e.link_index } : undefined;
    out.push({
      ifIndex: e.ifindex,
      name: e.ifname,
      mac: (typeof e.address === 'string' ? parseMac(e.address) : undefined) ?? new Uint8Array(6),
      mtu: typeof e.mtu === 'number' ? e.mtu : 1500,
      up: flags.includes('UP'),
      addrs,
      ...(typeof e.master === 'string' ? { master: e.master } : {}),
      ...(vethPeer ? { vethPeer } : {}),
    });
  }
  return out;
}

/** Parses `ip -j route` / `ip -j -6 route` output (unicast routes only). */
export function parseIpRoute(json: unknown, ifIndexOf: (name: string) => number | undefined): RouteFact[] {
  if (!Array.isArray(json)) throw new Error('Cannot read ip -j route output as it is not a JSON array');
  const out: RouteFact[] = [];
  for (const e of json as Json[]) {
    if (e.type !== undefined && e.type !== 'unicast') continue;
    const ifIndex = typeof e.dev === 'string' ? ifIndexOf(e.dev) : undefined;
    if (ifIndex === undefined || typeof e.dst !== 'string') continue;
    const gateway = typeof e.gateway === 'string' ? parseIp(e.gateway) : undefined;
    let dst: IpAddress | undefined;
    let prefixLen: number;
    if (e.dst === 'default') {
      const fam = gateway?.family ?? 4;
      dst = parseIp(fam === 4 ? '0.0.0.0' : '::');
      prefixLen = 0;
    } else {
      const [a, l] = e.dst.split('/');
      dst = parseIp(a);
      prefixLen = l === undefined ? (dst?.family === 6 ? 128 : 32) : Number(l);
    }
    if (!dst || !Number.isInteger(prefixLen)) continue;
    const prefsrc = typeof e.prefsrc === 'string' ? parseIp(e.prefsrc) : undefined;
    out.push({ dst, prefixLen, gateway, ifIndex, prefsrc, metric: typeof e.metric === 'number' ? e.metric : 0 });
  }
  return out;
}

/** Runs a command and gives its standard output. */
function runText(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err) reject(new Error(`Cannot run ${cmd} ${args.join(' ')}: ${err.message}`));
      else resolve(stdout);
    });
  });
}
const runIp = async (args: string[]): Promise<unknown> => {
  const out = await runText('ip', ['-j', ...args]);
  return out.trim() === '' ? [] : JSON.parse(out);
};

/** Reads the current facts from the kernel (in the caller's network namespace). */
export async function gatherNetFacts(opts: { readonly vethPeers?: boolean } = {}): Promise<NetFacts> {
  const [addr, r4, r6, neigh] = await Promise.all([
    runIp(['-d', 'addr', 'show']), runIp(['-4', 'route', 'show', 'table', 'main']), runIp(['-6', 'route', 'show', 'table', 'main']),
    runIp(['neigh', 'show']),
  ]);
  // Only the tc fast path delivers into veth peers: other modes spawn no tc or nft for it.
  const parsed = parseIpAddr(addr);
  const interfaces = opts.vethPeers ? await withPeerMacs(parsed, runText) : parsed;
  const byName = new Map(interfaces.map((i) => [i.name, i.ifIndex]));
  const idx = (n: string) => byName.get(n);
  return { interfaces, routes: [...parseIpRoute(r4, idx), ...parseIpRoute(r6, idx)], neighbours: parseIpNeigh(neigh, idx) };
}

/** A stable text form of the facts, to tell whether anything changed. */
export function factsDigest(f: NetFacts): string {
  const a = f.interfaces.map((i) => `${i.ifIndex},${i.name},${Array.from(i.mac).join('.')},${i.mtu},${i.up},${i.addrs.map((x) => `${ipKey(x.addr)}/${x.prefixLen}`).join(' ')},${Array.from(i.peerMac ?? []).join('.')}`);
  const r = f.routes.map((x) => `${ipKey(x.dst)}/${x.prefixLen},${x.gateway ? ipKey(x.gateway) : ''},${x.ifIndex},${x.metric}`);
  const n = f.neighbours.map((x) => `${ipKey(x.addr)},${x.ifIndex},${Array.from(x.mac).join('.')}`).sort();
  return JSON.stringify([a, r, n]);
}

/** The hop toward `via` while its MAC is being resolved (UNRESOLVED_MAC: held-frames.ts). */
export function pendingHop(ifIndex: number, src: IpAddress, mtu: number, via: IpAddress): PendingHop {
  const viaKey = ipKey(via);
  return { ifIndex, mac: UNRESOLVED_MAC, src, mtu, via, viaKey, key: `${ifIndex}/${viaKey}` };
}

/** Called when nextHop() misses a neighbour: the data plane resolves it. */
export type MissHandler = (addr: IpAddress, ifIndex: number, addrKey: string) => void;

/**
 * A next hop whose MAC is still being resolved: it carries UNRESOLVED_MAC, and says which
 * neighbour (and interface) the frames forwarded there wait for (held-frames.ts).
 */
export interface PendingHop extends NextHop {
  readonly via: IpAddress;
  /** `via` as a key (ipKey), and `via` with the interface: both made once, not per frame. */
  readonly viaKey: string;
  readonly key: string;
}

/**
 * NetContext over NetFacts and a NeighbourCache. nextHop results are cached per destination and
 * reused (the same object is returned until routes or neighbours change), so the engine can ask
 * per packet without allocating. A neighbour not resolved yet gives a PendingHop, cached too:
 * each lookup asks for resolution again (rate limited by the cache) and records it in takePending(),
 * and the neighbour cache's next change (the answer) replaces it with the resolved hop.
 */
export class LinuxNetContext implements NetContext {
  private facts!: NetFacts;
  private infos: InterfaceInfo[] = [];
  private byIndex = new Map<number, InterfaceFact>();
  private local4 = new Set<number>();
  private local6 = new Set<string>();
  private routes4: RouteFact[] = [];
  private routes6: RouteFact[] = [];
  private cache4 = new Map<number, NextHop>();
  private cache6 = new Map<string, NextHop>();
  private cacheVersion = -1;

  /** The unresolved next hop of the latest nextHop call that returned one (takePending). */
  private pending: PendingHop | undefined;

  constructor(facts: NetFacts, private readonly neighbours: NeighbourCache, private readonly onMiss: MissHandler) {
    this.update(facts);
  }

  /** Replaces the facts (interfaces, routes) and reseeds the kernel neighbours. */
  update(facts: NetFacts, nowMs = 0): void {
    this.facts = facts;
    this.infos = facts.interfaces.map((i) => ({ ifIndex: i.ifIndex, name: i.name, mac: i.mac, mtu: i.mtu, addrs: i.addrs.map((a) => a.addr) }));
    this.byIndex = new Map(facts.interfaces.map((i) => [i.ifIndex, i]));
    this.local4 = new Set();
    this.local6 = new Set();
    for (const i of facts.interfaces) for (const a of i.addrs) {
      if (a.addr.family === 4) this.local4.add(ipv4ToU32(a.addr));
      else this.local6.add(ipKey(a.addr));
    }
    // Longest prefix first, then lowest metric: the first match wins.
    const sorted = [...facts.routes].sort((a, b) => b.prefixLen - a.prefixLen || a.metric - b.metric);
    this.routes4 = sorted.filter((r) => r.dst.family === 4);
    this.routes6 = sorted.filter((r) => r.dst.family === 6);
    this.neighbours.seed(facts.neighbours, nowMs);
    this.cacheVersion = -1;
  }

  /** The unresolved next hop returned since the last call, if any (and forgets it). */
  takePending(): PendingHop | undefined {
    const p = this.pending;
    this.pending = undefined;
    return p;
  }

  /** The facts in force. */
  current(): NetFacts {
    return this.facts;
  }

  interfaces(): readonly InterfaceInfo[] {
    return this.infos;
  }

  /** The interface with `ifIndex`, if known. */
  interface(ifIndex: number): InterfaceFact | undefined {
    return this.byIndex.get(ifIndex);
  }

  isLocal(addr: IpAddress): boolean {
    return addr.family === 4 ? this.local4.has(ipv4ToU32(addr)) : this.local6.has(ipKey(addr));
  }

  /** The route toward `dst`, if any (longest prefix, then metric). */
  route(dst: IpAddress): RouteFact | undefined {
    for (const r of dst.family === 4 ? this.routes4 : this.routes6) if (inPrefixFast(dst, r.dst, r.prefixLen)) return r;
    return undefined;
  }

  nextHop(dst: IpAddress): NextHop | undefined {
    if (this.cacheVersion !== this.neighbours.version) {
      this.cache4.clear();
      this.cache6.clear();
      this.cacheVersion = this.neighbours.version;
    }
    const k4 = dst.family === 4 ? ipv4ToU32(dst) : 0;
    const k6 = dst.family === 6 ? ipKey(dst) : '';
    let hop = dst.family === 4 ? this.cache4.get(k4) : this.cache6.get(k6);
    if (!hop) {
      const r = this.route(dst);
      if (!r) return undefined;
      const via = r.gateway ?? dst;
      const n = this.neighbours.get(via);
      const itf = this.byIndex.get(r.ifIndex);
      const src = r.prefsrc ?? this.sourceFor(itf, dst) ?? dst;
      const mtu = itf?.mtu ?? 1500;
      const made: NextHop | PendingHop = n !== undefined && n.ifIndex === r.ifIndex
        ? { ifIndex: r.ifIndex, mac: n.mac, src, mtu }
        : pendingHop(r.ifIndex, src, mtu, via);
      if (dst.family === 4) this.cache4.set(k4, made);
      else this.cache6.set(k6, made);
      hop = made;
    }
    if (hop.mac === UNRESOLVED_MAC) {
      const p = hop as PendingHop;
      this.onMiss(p.via, p.ifIndex, p.viaKey);
      this.pending = p;
    }
    return hop;
  }

  /** The interface's first address of the family in the same prefix as `dst`, else its first global one. */
  private sourceFor(itf: InterfaceFact | undefined, dst: IpAddress): IpAddress | undefined {
    if (!itf) return undefined;
    let any: IpAddress | undefined;
    for (const a of itf.addrs) {
      if (a.addr.family !== dst.family || a.scope === 'link' || a.scope === 'host') continue;
      if (inPrefix(dst, a.addr, a.prefixLen)) return a.addr;
      any ??= a.addr;
    }
    return any;
  }
}

/** inPrefix without allocating (byte-wise masked compare). */
function inPrefixFast(a: IpAddress, net: IpAddress, prefixLen: number): boolean {
  const ab = a.bytes, nb = net.bytes;
  let bits = prefixLen;
  for (let i = 0; i < ab.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ab[i] & mask) !== (nb[i] & mask)) return false;
  }
  return true;
}
