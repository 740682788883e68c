// The engine entry every packet data plane calls: one frame in, one verdict out (spec §2–§3).
// parse (packet/) → the connection layer decides (conn/ipvs.ts: lookup, schedule, persistence,
// states, stats) → the forwarding method's pure rewrite (fwd/) → forward / reply / local / drop.
// It answers ARP and NDP for VIPs, sends ICMP port unreachable when no destination is available,
// and frag-needed / packet-too-big when a DF packet does not fit. Nothing here throws or allocates
// per packet: scratch objects and the output buffer are reused, drops are counted by reason.
import { type FrameEngine, type InterfaceInfo, type NetContext, type NextHop, type Verdict, VerdictKind } from './engine-contract.js';
import type { Ipvs } from './conn/ipvs.js';
import type { InResult, OutResult, PacketMeta } from './conn/ipvs-types.js';
import type { IpAddress } from './net/addr.js';
import { buildArpReply } from './packet/arp.js';
import { buildNaReply } from './packet/ndp.js';
import { ICMP_ERR_PORT_UNREACH, ICMP_ERR_TIME_EXCEEDED, buildIcmpError } from './packet/icmp-error.js';
import {
  ETH_P_ARP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, PARSE_OK, PARSE_REASONS, ParsedFrame,
} from './packet/frame.js';
import { parseFrame } from './packet/parse-frame.js';
import { FWD_NO_ROOM, FWD_REASONS, FWD_TTL_EXCEEDED, completeL4Checksum } from './fwd/common.js';
import { drouteRewrite } from './fwd/droute.js';
import { fullnatIcmpIn, fullnatIcmpOut, fullnatIn, fullnatOut } from './fwd/fullnat.js';
import { masqIcmpIn, masqIcmpOut, masqIn, masqOut } from './fwd/masq.js';
import { MTU_FRAG_NEEDED, MTU_OK, buildMtuError, mtuCheck, mtuToReport } from './fwd/mtu.js';
import { type TunnelTarget, flowHash, tunnelEncap, tunnelOverhead } from './fwd/tunnel.js';
import type { Destination } from './service/destination.js';
import type { ServiceTable } from './service/service-table.js';
import type { Protocol } from './service/types.js';

/** process() flag: the frame's L4 checksum is partial (TP_STATUS_CSUMNOTREADY / offload). */
export const FRAME_CSUM_PARTIAL = 1;

/** Largest frame the engine builds (an encapsulated jumbo/GRO frame plus headers). */
const OUT_BUFFER_BYTES = 65536 + 256;
const ND_NEIGHBOR_SOLICIT = 135;

export interface EngineOptions {
  readonly table: ServiceTable;
  readonly ipvs: Ipvs;
  readonly net: NetContext;
}

/** Counters of what the engine did with frames (beyond the connection layer's own). */
export interface EngineCounters {
  forwarded: number;
  replied: number;
  local: number;
  dropped: number;
  readonly drops: Record<string, number>;
}

export class Engine implements FrameEngine {
  readonly counters: EngineCounters = { forwarded: 0, replied: 0, local: 0, dropped: 0, drops: {} };
  private readonly p = new ParsedFrame();
  private readonly out = new Uint8Array(OUT_BUFFER_BYTES);
  private readonly meta: PacketMeta;
  private readonly src4: IpAddress = { family: 4, bytes: new Uint8Array(4) };
  private readonly dst4: IpAddress = { family: 4, bytes: new Uint8Array(4) };
  private readonly src6: IpAddress = { family: 6, bytes: new Uint8Array(16) };
  private readonly dst6: IpAddress = { family: 6, bytes: new Uint8Array(16) };
  private ifaces = new Map<number, InterfaceInfo>();
  /** VIPs: IPv4 as 32-bit values (no allocation per lookup), IPv6 as byte strings. */
  private vips4 = new Set<number>();
  private vips6 = new Set<string>();
  private tableGeneration = -1;
  private ipId = 1;
  private readonly tun: { -readonly [K in keyof TunnelTarget]: TunnelTarget[K] } = {
    type: 'ipip', csum: 'nocsum', port: 0, src: new Uint8Array(4), dst: new Uint8Array(4),
    dstMac: new Uint8Array(6), srcMac: new Uint8Array(6), pmtuDisc: true,
  };

  constructor(private readonly opts: EngineOptions) {
    this.meta = { protocol: 'tcp', saddr: this.src4, sport: 0, daddr: this.dst4, dport: 0, tcpFlags: 0, sctpChunk: 0, fwmark: 0, length: 0 };
    this.refreshNet();
  }

  /** Re-reads the interfaces (call when the data plane's NetContext changed). */
  refreshNet(): void {
    this.ifaces = new Map(this.opts.net.interfaces().map((i) => [i.ifIndex, i]));
  }

  tick(): void {
    this.opts.ipvs.tick();
  }

  process(frame: Uint8Array, length: number, ifIndex: number, v: Verdict, flags = 0): void {
    const p = this.p;
    v.conn = -1;
    v.offloadable = false;
    const rc = parseFrame(frame, length, p);
    if (rc !== PARSE_OK) {
      // Not IP/ARP, or malformed: none of tsvs's business; the kernel decides (and drops it).
      if (rc === 1) return this.local(v);
      return this.drop(v, PARSE_REASONS[rc] ?? 'malformed');
    }
    if (this.tableGeneration !== this.opts.table.generation) this.refreshVips();
    if (p.etherType === ETH_P_ARP) return this.arp(frame, ifIndex, v);
    if (p.family === 0) return this.local(v);
    if (p.proto === IPPROTO_ICMPV6 && p.icmpType === ND_NEIGHBOR_SOLICIT) return this.ndp(frame, ifIndex, v);
    if (p.icmpIsError) return this.icmpError(frame, ifIndex, v);
    const protocol = protocolOf(p.proto);
    if (protocol === undefined || p.srcPort < 0) return this.local(v);
    if ((flags & FRAME_CSUM_PARTIAL) !== 0) completeL4Checksum(frame, p);
    const m = this.fillMeta(frame, protocol);
    if (this.isVip(m.daddr.bytes, 0, p.family)) {
      return this.inbound(frame, ifIndex, v, this.opts.ipvs.inbound(m));
    }
    const r = this.opts.ipvs.outbound(m);
    if (r.kind === 'forward') return this.outbound(frame, v, r);
    if (r.kind === 'drop') return this.drop(v, r.reason);
    if (r.kind === 'unreachable') return this.icmpBack(frame, ifIndex, v, ICMP_ERR_PORT_UNREACH, null);
    return this.local(v);
  }

  // ---- client → VIP

  private inbound(frame: Uint8Array, ifIndex: number, v: Verdict, r: InResult): void {
    switch (r.kind) {
      case 'pass': return this.local(v);
      case 'drop': return this.drop(v, r.reason);
      case 'no-dest': return this.icmpBack(frame, ifIndex, v, ICMP_ERR_PORT_UNREACH, null);
      case 'bypass': {
        const hop = this.opts.net.nextHop(this.p.family === 4 ? this.dst4 : this.dst6);
        if (!hop) return this.drop(v, 'no-neighbour');
        return this.finish(frame, v, hop, drouteRewrite(frame, this.p, hop.mac, this.macOf(hop.ifIndex)), ifIndex);
      }
      case 'forward': break;
    }
    const dest = r.dest;
    if (r.method === 'local') return this.local(v);
    const hop = this.opts.net.nextHop(dest.addr);
    if (!hop) return this.drop(v, 'no-neighbour');
    const srcMac = this.macOf(hop.ifIndex);
    const p = this.p;
    if (r.method === 'tunnel') return this.tunnel(frame, ifIndex, v, dest, hop, srcMac);
    if (mtuCheck(p, hop.mtu) === MTU_FRAG_NEEDED) return this.fragNeeded(frame, ifIndex, v, mtuToReport(hop.mtu));
    let n: number;
    if (r.method === 'droute') {
      n = drouteRewrite(frame, p, hop.mac, srcMac);
      v.conn = r.conn;
      v.offloadable = this.opts.ipvs.offloadable(r.conn);
    } else if (r.method === 'masq') n = masqIn(frame, p, dest.addr.bytes, r.dport, hop.mac, srcMac);
    else if (r.method === 'fullnat' && r.localAddr) n = fullnatIn(frame, p, r.localAddr.bytes, r.localPort, dest.addr.bytes, r.dport, hop.mac, srcMac);
    else return this.drop(v, 'fullnat-no-pool');
    return this.finish(frame, v, hop, n, ifIndex);
  }

  private tunnel(frame: Uint8Array, ifIndex: number, v: Verdict, dest: Destination, hop: NextHop, srcMac: Uint8Array): void {
    const p = this.p;
    const t = this.tun;
    const outerFamily = dest.addr.family;
    const overhead = tunnelOverhead(outerFamily, dest.tunType, dest.tunCsum);
    const sysPmtu = this.opts.ipvs.sysctls.pmtu_disc !== 0;
    const mc = mtuCheck(p, hop.mtu, overhead, outerFamily, sysPmtu);
    if (mc === MTU_FRAG_NEEDED) return this.fragNeeded(frame, ifIndex, v, mtuToReport(hop.mtu, overhead));
    if (mc !== MTU_OK && mc !== 3) return this.drop(v, 'mtu');
    t.type = dest.tunType; t.csum = dest.tunCsum; t.port = dest.tunPort;
    t.src = hop.src.bytes; t.dst = dest.addr.bytes; t.dstMac = hop.mac; t.srcMac = srcMac; t.pmtuDisc = sysPmtu;
    const id = this.nextIpId();
    const hash = flowHash(frame, p);
    // In place when the frame's buffer has room for the outer headers (the packet plane's staging
    // slots do): the inner packet moves first, so nothing is copied out and back in. Else our buffer.
    let out = frame;
    let n = p.start === 0 ? tunnelEncap(frame, 0, frame.length, frame, p, t, id, hash) : FWD_NO_ROOM;
    if (n === FWD_NO_ROOM) {
      out = this.out;
      n = tunnelEncap(out, 0, out.length, frame, p, t, id, hash);
    }
    if (n === FWD_TTL_EXCEEDED) return this.icmpBack(frame, ifIndex, v, ICMP_ERR_TIME_EXCEEDED, null);
    if (n < 0) return this.drop(v, FWD_REASONS[-n] ?? 'tunnel');
    this.counters.forwarded++;
    v.kind = VerdictKind.Forward; v.ifIndex = hop.ifIndex; v.out = out; v.outLength = n;
  }

  // ---- real server → client (NAT, full NAT)

  private outbound(frame: Uint8Array, v: Verdict, r: Extract<OutResult, { kind: 'forward' }>): void {
    const hop = this.opts.net.nextHop(r.caddr);
    if (!hop) return this.drop(v, 'no-neighbour');
    const srcMac = this.macOf(hop.ifIndex);
    const n = r.method === 'fullnat'
      ? fullnatOut(frame, this.p, r.vaddr.bytes, r.vport, r.caddr.bytes, r.cport, hop.mac, srcMac)
      : masqOut(frame, this.p, r.vaddr.bytes, r.vport, hop.mac, srcMac);
    this.finish(frame, v, hop, n, -1);
  }

  // ---- ICMP errors related to connections (spec §2.6)

  private icmpError(frame: Uint8Array, ifIndex: number, v: Verdict): void {
    const p = this.p;
    const protocol = protocolOf(p.innerProto);
    if (protocol === undefined || p.innerSrcPort < 0 || p.innerFamily === 0) return this.local(v);
    // The quoted packet: for an error from the client side it is our reply (VIP → client);
    // from a real server, the packet we sent it (client or local address → server).
    const m = this.fillInnerMeta(frame, protocol);
    if (this.isVip(m.saddr.bytes, 0, p.innerFamily)) {
      const r = this.opts.ipvs.inboundRelated(m);
      if (r.kind !== 'forward') return r.kind === 'drop' ? this.drop(v, r.reason) : this.local(v);
      const hop = this.opts.net.nextHop(r.dest.addr);
      if (!hop) return this.drop(v, 'no-neighbour');
      const srcMac = this.macOf(hop.ifIndex);
      let n: number;
      if (r.method === 'masq') n = masqIcmpIn(frame, p, r.dest.addr.bytes, r.dport, hop.mac, srcMac);
      else if (r.method === 'fullnat' && r.localAddr) n = fullnatIcmpIn(frame, p, r.localAddr.bytes, r.localPort, r.dest.addr.bytes, r.dport, hop.mac, srcMac);
      else if (r.method === 'tunnel') return this.tunnel(frame, ifIndex, v, r.dest, hop, srcMac);
      else n = drouteRewrite(frame, p, hop.mac, srcMac);
      return this.finish(frame, v, hop, n, ifIndex);
    }
    const r = this.opts.ipvs.outboundRelated(m);
    if (r.kind !== 'forward') return r.kind === 'drop' ? this.drop(v, r.reason) : this.local(v);
    const hop = this.opts.net.nextHop(r.caddr);
    if (!hop) return this.drop(v, 'no-neighbour');
    const srcMac = this.macOf(hop.ifIndex);
    const n = r.method === 'fullnat'
      ? fullnatIcmpOut(frame, p, r.vaddr.bytes, r.vport, r.caddr.bytes, r.cport, hop.mac, srcMac)
      : masqIcmpOut(frame, p, r.vaddr.bytes, r.vport, hop.mac, srcMac);
    this.finish(frame, v, hop, n, -1);
  }

  // ---- ARP / NDP for VIPs

  private arp(frame: Uint8Array, ifIndex: number, v: Verdict): void {
    const p = this.p;
    if (p.arpTpaOff < 0 || !this.isVip(frame, p.arpTpaOff, 4)) return this.local(v);
    const mac = this.ifaces.get(ifIndex)?.mac;
    if (!mac) return this.local(v);
    const n = buildArpReply(this.out, 0, this.out.length, frame, p, mac);
    if (n < 0) return this.local(v);
    this.reply(v, ifIndex, n);
  }

  private ndp(frame: Uint8Array, ifIndex: number, v: Verdict): void {
    const p = this.p;
    if (p.ndTargetOff < 0 || !this.isVip(frame, p.ndTargetOff, 6)) return this.local(v);
    const mac = this.ifaces.get(ifIndex)?.mac;
    if (!mac) return this.local(v);
    const n = buildNaReply(this.out, 0, this.out.length, frame, p, mac);
    if (n < 0) return this.local(v);
    this.reply(v, ifIndex, n);
  }

  // ---- helpers

  /** Completes a forward after an in-place rewrite (n = length or a FWD_* failure code). */
  private finish(frame: Uint8Array, v: Verdict, hop: NextHop, n: number, ingress: number): void {
    if (n === FWD_TTL_EXCEEDED) return ingress >= 0 ? this.icmpBack(frame, ingress, v, ICMP_ERR_TIME_EXCEEDED, null) : this.drop(v, 'ttl-exceeded');
    if (n < 0) return this.drop(v, FWD_REASONS[-n] ?? 'rewrite');
    this.counters.forwarded++;
    v.kind = VerdictKind.Forward; v.ifIndex = hop.ifIndex; v.out = frame; v.outLength = n;
  }

  private fragNeeded(frame: Uint8Array, ifIndex: number, v: Verdict, mtu: number): void {
    const mac = this.ifaces.get(ifIndex)?.mac;
    if (!mac) return this.drop(v, 'mtu');
    const n = buildMtuError(this.out, 0, this.out.length, frame, this.p, mtu, mac, null, this.nextIpId());
    if (n < 0) return this.drop(v, 'mtu');
    this.counters.drops['mtu-frag-needed'] = (this.counters.drops['mtu-frag-needed'] ?? 0) + 1;
    this.reply(v, ifIndex, n);
  }

  /** An ICMP error back to the sender, out of the interface the frame came in on. */
  private icmpBack(frame: Uint8Array, ifIndex: number, v: Verdict, kind: number, src: Uint8Array | null): void {
    const mac = this.ifaces.get(ifIndex)?.mac;
    if (!mac) return this.drop(v, 'no-interface');
    const n = buildIcmpError(this.out, 0, this.out.length, frame, this.p, kind, 0, mac, src, this.nextIpId());
    if (n < 0) return this.drop(v, kind === ICMP_ERR_PORT_UNREACH ? 'no-dest' : 'ttl-exceeded');
    this.reply(v, ifIndex, n);
  }

  private reply(v: Verdict, ifIndex: number, n: number): void {
    this.counters.replied++;
    v.kind = VerdictKind.Reply; v.ifIndex = ifIndex; v.out = this.out; v.outLength = n;
  }

  private local(v: Verdict): void {
    this.counters.local++;
    v.kind = VerdictKind.Local; v.outLength = 0;
  }

  private drop(v: Verdict, reason: string): void {
    this.counters.dropped++;
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
    v.kind = VerdictKind.Drop; v.outLength = 0; v.dropReason = reason;
  }

  private macOf(ifIndex: number): Uint8Array {
    return this.ifaces.get(ifIndex)?.mac ?? ZERO_MAC;
  }

  private nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  private fillMeta(frame: Uint8Array, protocol: Protocol): PacketMeta {
    const p = this.p;
    const m = this.meta;
    const v6 = p.family === 6;
    m.saddr = copyAddr(v6 ? this.src6 : this.src4, frame, p.srcOff);
    m.daddr = copyAddr(v6 ? this.dst6 : this.dst4, frame, p.dstOff);
    m.protocol = protocol; m.sport = p.srcPort; m.dport = p.dstPort;
    m.tcpFlags = protocol === 'tcp' ? p.tcpFlags : 0;
    m.sctpChunk = protocol === 'sctp' && p.sctpChunkType > 0 ? p.sctpChunkType : 0;
    m.fwmark = 0;
    m.length = p.ipEnd - p.ipOff;
    return m;
  }

  private fillInnerMeta(frame: Uint8Array, protocol: Protocol): PacketMeta {
    const p = this.p;
    const m = this.meta;
    const v6 = p.innerFamily === 6;
    m.saddr = copyAddr(v6 ? this.src6 : this.src4, frame, p.innerSrcOff);
    m.daddr = copyAddr(v6 ? this.dst6 : this.dst4, frame, p.innerDstOff);
    m.protocol = protocol; m.sport = p.innerSrcPort; m.dport = p.innerDstPort;
    m.tcpFlags = 0; m.sctpChunk = 0; m.fwmark = 0;
    m.length = p.ipEnd - p.ipOff;
    return m;
  }

  private isVip(b: Uint8Array, off: number, family: number): boolean {
    if (family === 4) return this.vips4.has(((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0);
    return this.vips6.size > 0 && this.vips6.has(keyAt(b, off, 16));
  }

  private refreshVips(): void {
    this.tableGeneration = this.opts.table.generation;
    const v4 = new Set<number>();
    const v6 = new Set<string>();
    for (const svc of this.opts.table.services()) {
      if (svc.key.kind !== 'addr') continue;
      const b = svc.key.addr.bytes;
      if (svc.key.addr.family === 4) v4.add(((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0);
      else v6.add(keyAt(b, 0, 16));
    }
    this.vips4 = v4;
    this.vips6 = v6;
  }
}

const ZERO_MAC = new Uint8Array(6);

function protocolOf(proto: number): Protocol | undefined {
  return proto === IPPROTO_TCP ? 'tcp' : proto === IPPROTO_UDP ? 'udp' : proto === IPPROTO_SCTP ? 'sctp' : undefined;
}

function copyAddr(a: IpAddress, frame: Uint8Array, off: number): IpAddress {
  const b = a.bytes;
  for (let i = 0; i < b.length; i++) b[i] = frame[off + i];
  return a;
}

function keyAt(b: Uint8Array, off: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(b[off + i]);
  return s;
}

/** Builds the engine. */
export function createEngine(opts: EngineOptions): Engine {
  return new Engine(opts);
}
