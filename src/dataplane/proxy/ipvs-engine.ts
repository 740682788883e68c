// The proxy plane's engine over the core's connection layer (Ipvs): socket events become the
// packet metadata the kernel would have seen, so one connection table, one set of states and one
// set of counters serve every plane (spec §2.4–§2.9):
//   accept            → client SYN          (schedules; SYN_RECV, active)
//   backend connected → server SYN+ACK, client ACK (ESTABLISHED)
//   bytes either way  → one ACK packet per chunk, with its length
//   FIN either way    → FIN|ACK in that direction (CLOSE_WAIT / FIN_WAIT, then TIME_WAIT)
//   reset             → RST (CLOSE)
// The entry then ages out on the kernel's timers, as in the kernel. Replies are fed through
// outbound() for NAT destinations; for other methods (the kernel never sees their replies) the
// proxy, which does carry them, adds the out counters itself so --stats shows the real traffic.
import { type IpAddress, formatIp, parseIp } from '../../core/net/addr.js';
import type { Ipvs, PacketMeta } from '../../core/conn/ipvs.js';
import type { Destination } from '../../core/service/destination.js';
import type { ServiceTable } from '../../core/service/service-table.js';
import type { Protocol } from '../../core/service/types.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import type { EngineConn, FlowAddrs, ProxyEngine, RefuseReason } from './engine.js';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

function meta(protocol: Protocol, saddr: IpAddress, sport: number, daddr: IpAddress, dport: number, fwmark: number): PacketMeta {
  return { protocol, saddr, sport, daddr, dport, tcpFlags: 0, sctpChunk: 0, fwmark, length: 0 };
}

/** IpvsConn.bits: a NAT conn (it has an out entry; for the others the proxy counts replies itself). */
const B_NAT_OUT = 1;
/** The engine still wants the conn. */
const B_LIVE = 2;
/** The backend accepted (TCP). */
const B_CONNECTED = 4;

/**
 * One proxied connection's engine side. Its flow is kept as fields, and every event is described
 * to the Ipvs in the engine's one scratch PacketMeta: a UDP session lives until the udp timeout or
 * an eviction, so two PacketMeta objects per conn were two more objects for young-generation
 * collections to copy (bench/udp-dns.sh).
 */
class IpvsConn implements EngineConn {
  private bits: number;
  private readonly protocol: Protocol;
  private readonly saddr: IpAddress;
  private readonly sport: number;
  private readonly daddr: IpAddress;
  private readonly dport: number;
  private readonly fwmark: number;

  constructor(
    private readonly engine: IpvsEngine,
    private readonly svc: VirtualService,
    readonly dest: Destination,
    readonly destPort: number,
    flow: PacketMeta,
    /** The destinations whose connect failed for this client connection (made on the first retry). */
    private readonly failed: Destination[] | undefined,
    oneShot: boolean,
    /** The entry's slot and serial in the connection table: later packets skip the lookup (Ipvs.inboundAt). */
    private readonly slot: number,
    private readonly serial: number,
  ) {
    this.bits = B_LIVE | (!oneShot && dest.method === 'masq' ? B_NAT_OUT : 0);
    this.protocol = flow.protocol;
    this.saddr = flow.saddr;
    this.sport = flow.sport;
    this.daddr = flow.daddr;
    this.dport = flow.dport;
    this.fwmark = flow.fwmark;
  }

  /** The engine's scratch PacketMeta describing a client packet (or, `reply`, a real server's) of this conn. */
  private meta(reply: boolean, flags: number, length: number): PacketMeta {
    const p = this.engine.scratch;
    p.protocol = this.protocol;
    p.fwmark = this.fwmark;
    p.tcpFlags = flags;
    p.length = length;
    if (reply) {
      p.saddr = this.dest.addr; p.sport = this.destPort; p.daddr = this.saddr; p.dport = this.sport;
    } else {
      p.saddr = this.saddr; p.sport = this.sport; p.daddr = this.daddr; p.dport = this.dport;
    }
    return p;
  }

  /** dest.addr as text (the engine's cache: not one string per conn). */
  get destHost(): string {
    return this.engine.hostOf(this.dest);
  }

  get alive(): boolean {
    return (this.bits & B_LIVE) !== 0;
  }

  private in(flags: number, length: number): void {
    // A deleted destination (expire_nodest_conn=0): the kernel would drop these packets and count
    // them; the proxy keeps carrying the connection, so it feeds nothing (spec §2.9, documented).
    if (!this.dest.isAvailable) return;
    const r = this.engine.ipvs.inboundAt(this.slot, this.serial, this.meta(false, flags, length));
    // A non-SYN packet with no entry is "pass": the entry expired (or was flushed) under us. A UDP
    // datagram after expiry creates a fresh entry, maybe elsewhere: this conn is over either way.
    if (r.kind !== 'forward' || r.isNew || r.dest !== this.dest) this.bits &= ~B_LIVE;
  }

  private out(flags: number, length: number, packets: number): void {
    if (!this.dest.isAvailable) return;
    if (this.bits & B_NAT_OUT) {
      const r = this.engine.ipvs.outboundAt(this.slot, this.serial, this.meta(true, flags, length));
      if (r.kind === 'forward') {
        if (packets > 1) this.engine.addOut(this.svc, this.dest, 0, packets - 1);
        return;
      }
    }
    this.engine.addOut(this.svc, this.dest, length, packets);
  }

  established(): void {
    if (this.protocol !== 'tcp') return;
    this.bits |= B_CONNECTED;
    this.out(SYN | ACK, 0, 1);
    this.in(ACK, 0);
  }

  inData(bytes: number, packets = 1): void {
    this.in(this.protocol === 'tcp' ? ACK : 0, bytes);
    if (packets > 1 && this.dest.isAvailable) this.engine.addIn(this.svc, this.dest, 0, packets - 1);
  }

  outData(bytes: number, packets = 1): void {
    this.out(this.protocol === 'tcp' ? ACK : 0, bytes, packets);
  }

  clientFin(): void {
    if (this.protocol === 'tcp') this.in(FIN | ACK, 0);
  }

  serverFin(): void {
    if (this.protocol === 'tcp') this.out(FIN | ACK, 0, 1);
  }

  reset(): void {
    if (this.protocol !== 'tcp' || !(this.bits & B_LIVE)) return;
    if (this.bits & B_CONNECTED) { this.in(RST, 0); return; }
    // The real server refused (or never answered): what the director would have seen is its RST
    // (OUTPUT rst: SYN_RECV -> CLOSE). Without an out entry, a client FIN (SYN_RECV -> TIME_WAIT)
    // is the nearest input event that ends the entry (an input RST leaves SYN_RECV as it is).
    if (this.bits & B_NAT_OUT) this.out(RST, 0, 1);
    else this.in(FIN | ACK, 0);
  }

  closed(): void {
    // Nothing to feed: the entry ages out on the kernel's timers (TIME_WAIT, CLOSE, UDP).
    this.bits &= ~B_LIVE;
  }

  retry(): EngineConn | undefined {
    this.reset();
    this.bits &= ~B_LIVE;
    const failed = this.failed ?? [];
    failed.push(this.dest);
    const next = this.engine.openExcluding(this.svc, meta(this.protocol, this.saddr, this.sport, this.daddr, this.dport, this.fwmark), failed);
    if (typeof next === 'string' || failed.includes(next.dest)) {
      // Persistent services keep their template's destination (spec §2.7): nothing else to try.
      if (typeof next !== 'string') next.reset();
      return undefined;
    }
    return next;
  }
}

/** A ProxyEngine driving the core's Ipvs connection layer. */
export class IpvsEngine implements ProxyEngine {
  /** Parsed VIPs and formatted real-server addresses, so a new conn parses only its client. */
  private readonly vips = new Map<string, IpAddress>();
  private readonly hosts = new WeakMap<Destination, string>();
  /** The PacketMeta every conn's events are described in (read by the Ipvs before the next event). */
  readonly scratch: PacketMeta = meta('tcp', { family: 4, bytes: new Uint8Array(4) }, 0, { family: 4, bytes: new Uint8Array(4) }, 0, 0);

  constructor(readonly ipvs: Ipvs, readonly table: ServiceTable) {}

  /** dest.addr as text (cached per destination). */
  hostOf(d: Destination): string {
    let h = this.hosts.get(d);
    if (h === undefined) { h = formatIp(d.addr); this.hosts.set(d, h); }
    return h;
  }

  open(svc: VirtualService, protocol: Protocol, f: FlowAddrs, length: number): EngineConn | RefuseReason {
    const saddr = f.clientAddr ?? parseIp(f.clientIp);
    let daddr = this.vips.get(f.vip);
    if (!daddr) {
      daddr = parseIp(f.vip);
      if (daddr && this.vips.size < 4096) this.vips.set(f.vip, daddr);
    }
    if (!saddr || !daddr || saddr.family !== daddr.family) return 'drop';
    const fwmark = svc.key.kind === 'fwmark' ? svc.key.fwmark : 0;
    const p = meta(protocol, saddr, f.clientPort, daddr, f.vport, fwmark);
    p.length = length;
    return this.openExcluding(svc, p, undefined);
  }

  /** Feeds the SYN (or first datagram) with the failed destinations excluded from scheduling. */
  openExcluding(svc: VirtualService, p: PacketMeta, failed: Destination[] | undefined): IpvsConn | RefuseReason {
    p.tcpFlags = p.protocol === 'tcp' ? SYN : 0;
    // The failed destinations are skipped by the scheduler only (Ipvs.inbound's `exclude`): existing
    // conns to them are untouched.
    const r = this.ipvs.inbound(p, failed);
    switch (r.kind) {
      case 'forward':
        return new IpvsConn(this, svc, r.dest, r.dport, p, failed, svc.isOnePacket && p.protocol === 'udp', r.conn, this.ipvs.conns.serialOf(r.conn));
      case 'no-dest': return 'no-dest';
      case 'pass': return 'no-service';
      default: return 'drop';
    }
  }

  /** Adds reply traffic the connection layer does not see (non-NAT methods, one-packet). */
  addOut(svc: VirtualService, d: Destination, bytes: number, packets: number): void {
    const a = d.stats; const b = svc.stats; const t = this.table.totals;
    a.outPkts += packets; a.outBytes += bytes; b.outPkts += packets; b.outBytes += bytes; t.outPkts += packets; t.outBytes += bytes;
  }

  /** Adds client packets batched by a worker (bytes already counted). */
  addIn(svc: VirtualService, d: Destination, bytes: number, packets: number): void {
    const a = d.stats; const b = svc.stats; const t = this.table.totals;
    a.inPkts += packets; a.inBytes += bytes; b.inPkts += packets; b.inBytes += bytes; t.inPkts += packets; t.inBytes += bytes;
  }

  tcpIdleMs(halfClosed: boolean): number {
    const t = this.ipvs.getTimeouts();
    return (halfClosed ? t.tcpfin : t.tcp) * 1000;
  }

  udpIdleMs(): number {
    return this.ipvs.getTimeouts().udp * 1000;
  }

  expireNodestConn(): boolean {
    return this.ipvs.sysctls.expire_nodest_conn !== 0;
  }

  tick(): void {
    this.ipvs.tick();
  }
}
