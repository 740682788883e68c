// The connection layer's facade: IPVS's brain between a parsed packet and a forwarding decision
// (ip_vs_core.c ip_vs_in_hook / ip_vs_out_hook, ip_vs_schedule, ip_vs_sched_persist, the protocol
// conn_schedule and state_transition hooks, ip_vs_conn.c expiry; spec §2). Scheduling glue,
// stats and connection accounting go through the service table's objects; storage is ConnTable.
import type { Clock } from '../clock.js';
import type { IpAddress } from '../net/addr.js';
import type { RandomSource } from '../random.js';
import type { FlowInfo } from '../sched/scheduler.js';
import type { Destination } from '../service/destination.js';
import type { ServiceTable } from '../service/service-table.js';
import type { ForwardMethod, Protocol } from '../service/types.js';
import type { VirtualService } from '../service/virtual-service.js';
import { ConnKey } from './conn-key.js';
import {
  CF_BYPASS, CF_DROUTE, CF_FULLNAT, CF_FWD_MASK, CF_INACTIVE, CF_LOCALNODE, CF_MASQ, CF_NFCT, CF_NOOUTPUT,
  CF_ONE_PACKET, CF_TEMPLATE, CF_TUNNEL, CF_USED, CF_V6, CTPL_S_ASSURED, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
} from './conn-flags.js';
import { ConnTable } from './conn-table.js';
import { Defense } from './defense.js';
import { FullNatPool, type FullNatPoolConfig } from './fullnat-pool.js';
import {
  DROP_REASONS, type Bypass, type Drop, type DropReason, type InForward, type InResult, type NoDest,
  type OutForward, type OutResult, type PacketMeta, type Pass, type Unreachable,
} from './ipvs-types.js';
import { FTPDATA, FTPPORT, fillTemplateKey, persistentConnDport, templateDport, templateUsable } from './persistence.js';
import { SCTP_CID_ABORT, SCTP_CID_INIT, SCTP_S_CLOSED, SCTP_S_ESTABLISHED, sctpNextState } from './sctp-state.js';
import { DEFENSE_SYSCTLS, type SysctlName, type Sysctls, makeSysctls, validateSysctl } from './sysctls.js';
import {
  DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, TCP_RST, TCP_S_CLOSE, TCP_S_ESTABLISHED, TCP_S_FIN_WAIT,
  TCP_S_TIME_WAIT, TCP_STATE_ACTIVE, TCP_SYN, tcpNextState,
} from './tcp-state.js';
import { CONN_DELAY_MS, type TimeoutSettings, Timeouts } from './timeouts.js';

export type * from './ipvs-types.js';
export { DROP_REASONS } from './ipvs-types.js';

/** Options of the connection layer. */
export interface IpvsOptions {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly sysctls?: Partial<Sysctls>;
  /** Hard cap on entries (connections + templates); default 2^20. */
  readonly maxConns?: number;
  /** Slots allocated up front (default 1024). */
  readonly initialCapacity?: number;
  /** The defense memory signal (free + buffer pages); without it memory never counts as low. */
  readonly memory?: () => { availablePages: number };
  /** Local endpoints for full-NAT destinations. */
  readonly fullnatPool?: FullNatPoolConfig;
}

const FWD_BITS: Record<ForwardMethod, number> = { masq: CF_MASQ, local: CF_LOCALNODE, tunnel: CF_TUNNEL, droute: CF_DROUTE, fullnat: CF_FULLNAT };
const METHOD_OF: readonly ForwardMethod[] = ['masq', 'local', 'tunnel', 'droute', 'masq', 'fullnat', 'masq', 'masq'];
// ip_vs_schedule outcomes besides a slot: *ignored = 1 (accept), 0 (leave), -1 (drop).
const SCHED_PASS = -1;
const SCHED_LEAVE = -2;
const SCHED_DROP = -3;

function protoNum(p: Protocol): number {
  return p === 'tcp' ? IPPROTO_TCP : p === 'udp' ? IPPROTO_UDP : IPPROTO_SCTP;
}

function isUnicast(a: IpAddress): boolean {
  if (a.family === 4) return a.bytes[0] < 224 && !(a.bytes[0] === 0 && a.bytes[1] === 0 && a.bytes[2] === 0 && a.bytes[3] === 0);
  return a.bytes[0] !== 0xff;
}

export class Ipvs {
  readonly conns: ConnTable;
  readonly sysctls: Sysctls;
  readonly drops: Record<DropReason, number>;
  readonly timeouts = new Timeouts();
  readonly defense: Defense;
  readonly fullnat: FullNatPool | undefined;

  private readonly table: ServiceTable;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly memory: (() => { availablePages: number }) | undefined;
  private readonly key = new ConnKey();
  private readonly tkey = new ConnKey();
  private readonly skey = new ConnKey();
  private readonly flow: { protocol: Protocol; srcAddr: IpAddress; srcPort: number; dstAddr: IpAddress; dstPort: number };
  private lastDefenseMs: number;
  private dropReason: DropReason = 'table-full';
  /** A template being used by the conn under construction: eviction must not take it. */
  private protectedSlot = -1;
  private readonly onExpire = (slot: number): void => this.expire(slot, false);
  private realServices: { gen: number; set: Set<string> } = { gen: -1, set: new Set() };

  private readonly rFwd: InForward = { kind: 'forward', conn: -1, dest: undefined!, isNew: false, method: 'droute', dport: 0, localAddr: undefined, localPort: 0 };
  private readonly rPass: Pass = { kind: 'pass' };
  private readonly rDrop: Drop = { kind: 'drop', reason: 'table-full' };
  private readonly rNoDest: NoDest = { kind: 'no-dest', svc: undefined! };
  private readonly rBypass: Bypass = { kind: 'bypass', conn: -1, isNew: false };
  private readonly rOut: OutForward = {
    kind: 'forward', conn: -1, dest: undefined, method: 'masq',
    vaddr: { family: 4, bytes: new Uint8Array(4) }, vport: 0, caddr: { family: 4, bytes: new Uint8Array(4) }, cport: 0,
  };
  private readonly rUnreach: Unreachable = { kind: 'unreachable' };
  private readonly scratch = {
    v4a: { family: 4 as const, bytes: new Uint8Array(4) }, v4b: { family: 4 as const, bytes: new Uint8Array(4) },
    v6a: { family: 6 as const, bytes: new Uint8Array(16) }, v6b: { family: 6 as const, bytes: new Uint8Array(16) },
  };

  constructor(table: ServiceTable, opts: IpvsOptions) {
    this.table = table;
    this.clock = opts.clock;
    this.random = opts.random;
    this.memory = opts.memory;
    this.sysctls = makeSysctls(opts.sysctls);
    this.defense = new Defense(this.sysctls);
    this.conns = new ConnTable({
      maxConns: opts.maxConns ?? 1 << 20,
      initialCapacity: opts.initialCapacity,
      seed: opts.random.nextU32(),
      clock: opts.clock,
    });
    this.fullnat = opts.fullnatPool ? new FullNatPool(opts.fullnatPool, opts.random) : undefined;
    if (this.fullnat) {
      this.conns.localAddrs = this.fullnat.addresses;
      this.conns.local32 = this.fullnat.local32;
    }
    this.drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
    const any4 = { family: 4 as const, bytes: new Uint8Array(4) };
    this.flow = { protocol: 'tcp', srcAddr: any4, srcPort: 0, dstAddr: any4, dstPort: 0 };
    this.lastDefenseMs = this.clock.nowMs();
    this.defense.update(this.availablePages());
  }

  /** A client → virtual service packet (ip_vs_in_hook, spec §2.4–§2.9). */
  inbound(p: PacketMeta): InResult {
    const c = this.conns;
    const k = this.key;
    k.template = false;
    k.proto = protoNum(p.protocol);
    k.setFirst(p.saddr, p.sport).setSecond(p.daddr, p.dport);
    let s = c.findIn(k);
    if (s >= 0 && this.startsConn(p)) {
      // A new connection reusing an entry (spec §2.9).
      let resched = false;
      let oldCt = false;
      const d = c.destOf(s);
      if (this.sysctls.expire_nodest_conn !== 0 && d !== undefined && d.weight === 0) {
        resched = true;
        oldCt = (c.flags(s) & CF_NFCT) !== 0;
      } else if (this.sysctls.conn_reuse_mode !== 0 && this.newConnExpected(s)) {
        oldCt = (c.flags(s) & CF_NFCT) !== 0;
        resched = c.nControl(s) === 0 ? true : !oldCt;
      }
      if (resched) {
        if (!oldCt) c.setFlags(s, c.flags(s) & ~CF_NFCT);
        if (c.nControl(s) === 0) this.expire(s, false);
        if (oldCt) return this.drop('old-conntrack');
        s = -1;
      }
    }
    if (s >= 0) {
      const d = c.destOf(s);
      if (d !== undefined && !d.isAvailable) {
        if (this.sysctls.expire_nodest_conn === 0) return this.drop('dest-unavailable');
        const oldCt = (c.flags(s) & CF_NFCT) !== 0;
        if (!oldCt) c.setFlags(s, c.flags(s) & ~CF_NFCT);
        this.expire(s, false);
        if (oldCt) return this.drop('old-conntrack');
        s = -1;
      }
    }
    let isNew = false;
    if (s < 0) {
      if (!this.mayCreate(p)) return this.rPass;
      const svc = this.table.lookup(p.protocol, p.daddr, p.dport, p.fwmark);
      if (!svc) return this.rPass;
      if (this.defense.todrop()) return this.drop('defense-drop-packet');
      this.setFlow(p.protocol, p.saddr, p.sport, p.daddr, p.dport);
      s = this.schedule(svc, k, p.fwmark);
      if (s < 0) return this.leave(s, svc, k, p, false);
      isNew = true;
    }
    this.inStats(s, p.length);
    this.transition(s, DIR_INPUT, p);
    this.countInPkt(s);
    // The result is read before put(): a one-packet conn is gone after it (spec §2.8).
    const r = this.inResult(s, isNew);
    this.put(s);
    return r;
  }

  /** A real server → client reply of a NAT or full-NAT conn (ip_vs_out_hook / handle_response). */
  outbound(p: PacketMeta): OutResult {
    const k = this.key;
    k.template = false;
    k.proto = protoNum(p.protocol);
    k.setFirst(p.saddr, p.sport).setSecond(p.daddr, p.dport);
    const s = this.conns.findOut(k);
    if (s < 0) {
      if (this.sysctls.nat_icmp_send !== 0 && this.isRealService(p) &&
          !(p.protocol === 'tcp' && (p.tcpFlags & TCP_RST) !== 0) && !(p.protocol === 'sctp' && p.sctpChunk === SCTP_CID_ABORT)) {
        return this.rUnreach;
      }
      return this.rPass;
    }
    this.outStats(s, p.length);
    this.transition(s, DIR_OUTPUT, p);
    const r = this.outResult(s);
    this.put(s);
    return r;
  }

  /**
   * An ICMP error from the client side about a packet the director sent to it (ip_vs_in_icmp):
   * `embedded` is the quoted header (source = virtual service, destination = client). Forwarded to
   * the conn's server; with schedule_icmp=1 an unknown flow may be scheduled (spec §2.6).
   */
  inboundRelated(embedded: PacketMeta): InResult {
    const c = this.conns;
    const k = this.key;
    k.template = false;
    k.proto = protoNum(embedded.protocol);
    k.setFirst(embedded.daddr, embedded.dport).setSecond(embedded.saddr, embedded.sport);
    let s = c.findIn(k);
    let isNew = false;
    if (s < 0) {
      if (this.sysctls.schedule_icmp === 0) return this.rPass;
      const svc = this.table.lookup(embedded.protocol, embedded.saddr, embedded.sport, embedded.fwmark);
      if (!svc) return this.rPass;
      if (this.defense.todrop()) return this.drop('defense-drop-packet');
      this.setFlow(embedded.protocol, embedded.daddr, embedded.dport, embedded.saddr, embedded.sport);
      s = this.schedule(svc, k, embedded.fwmark);
      if (s < 0) return this.leave(s, svc, k, embedded, true);
      isNew = true;
    }
    this.inStats(s, embedded.length);
    const r = this.inResult(s, isNew);
    if (isNew) this.put(s); // an existing conn's timer is not touched by ICMP (__ip_vs_conn_put)
    return r;
  }

  /**
   * An ICMP error from a real server about a packet the director sent it (ip_vs_out_icmp):
   * `embedded` is the quoted header (source = client or local endpoint, destination = server).
   */
  outboundRelated(embedded: PacketMeta): OutResult {
    const k = this.key;
    k.template = false;
    k.proto = protoNum(embedded.protocol);
    k.setFirst(embedded.daddr, embedded.dport).setSecond(embedded.saddr, embedded.sport);
    const s = this.conns.findOut(k);
    if (s < 0) return this.rPass;
    this.outStats(s, embedded.length);
    return this.outResult(s);
  }

  /** Expires due entries, runs the defense once per second and frees old trash. Cheap when idle. */
  tick(): void {
    const now = this.clock.nowMs();
    this.conns.wheel.advance(now, this.onExpire);
    if (now - this.lastDefenseMs >= 1000) {
      this.lastDefenseMs = now;
      this.defense.update(this.availablePages());
      if (this.defense.dropEntryActive) {
        this.defense.randomDropEntry(this.conns, this.random, now, (s) => this.expire(s, true));
      }
      this.table.expireTrash();
    }
  }

  /** `ipvsadm --set tcp tcpfin udp` (0 = unchanged). Throws TsvsError EINVAL. */
  setTimeouts(t: Partial<TimeoutSettings>): void {
    this.timeouts.set(t);
  }

  getTimeouts(): TimeoutSettings {
    return this.timeouts.get();
  }

  /** Writes one sysctl (validated); defense modes re-evaluate the defense level at once. */
  setSysctl(name: SysctlName, value: number): void {
    validateSysctl(name, value);
    this.sysctls[name] = value;
    if (DEFENSE_SYSCTLS.has(name)) this.defense.update(this.availablePages());
  }

  /**
   * A destination was deleted (moved to the trash). With expire_nodest_conn=1 its conns and
   * templates are deleted now (ip_vs_expire_nodest_conn_flush); otherwise they stay and their
   * packets are dropped (spec §2.9). Call after ServiceTable.deleteDest/deleteService.
   */
  destinationRemoved(dest: Destination): void {
    if (this.sysctls.expire_nodest_conn === 0) return;
    const c = this.conns;
    c.forEach((s) => {
      if (c.destOf(s) !== dest || (c.flags(s) & CF_TEMPLATE) !== 0 || c.nControl(s) > 0) return;
      this.deleteWithController(s);
    });
    c.forEach((s) => {
      if (c.destOf(s) === dest && c.nControl(s) === 0) this.expire(s, true);
    });
  }

  /** Deletes every entry (ip_vs_conn_flush). */
  flushConns(): void {
    const c = this.conns;
    for (let guard = 0; c.count > 0 && guard < 64; guard++) {
      c.forEach((s) => {
        if ((c.flags(s) & CF_USED) !== 0 && c.nControl(s) === 0) this.deleteWithController(s);
      });
    }
  }

  // ---- scheduling (ip_vs_schedule, ip_vs_sched_persist, ip_vs_leave) ----

  private schedule(svc: VirtualService, k: ConnKey, fwmark: number): number {
    const f = this.flow;
    // Never schedule active FTP data conns from port 20 (ip_vs_schedule).
    if (f.srcPort === FTPDATA) return SCHED_PASS;
    if (svc.isPersistent) return this.schedulePersistent(svc, k, fwmark);
    if (svc.key.kind !== 'fwmark' && f.dstPort !== svc.port) return SCHED_LEAVE; // port 0 needs persistence
    const dest = svc.sched?.schedule(svc, f as FlowInfo);
    if (!dest) return SCHED_LEAVE;
    const ops = svc.isOnePacket && f.protocol === 'udp' ? CF_ONE_PACKET : 0;
    const s = this.newConn(k, dest, dest.port !== 0 ? dest.port : f.dstPort, ops, fwmark);
    if (s < 0) return SCHED_DROP;
    this.connStats(s, svc);
    return s;
  }

  private schedulePersistent(svc: VirtualService, k: ConnKey, fwmark: number): number {
    const c = this.conns;
    const f = this.flow;
    const tk = this.tkey;
    fillTemplateKey(svc, k.proto, f.srcAddr, f.dstAddr, f.dstPort, tk);
    let ct = c.findIn(tk);
    let dest: Destination | undefined;
    if (ct >= 0 && templateUsable(c.destOf(ct), this.sysctls)) {
      dest = c.destOf(ct)!;
    } else {
      if (ct >= 0) this.invalidateTemplate(ct);
      dest = svc.sched?.schedule(svc, f as FlowInfo);
      if (!dest) return SCHED_LEAVE;
      ct = this.newConn(tk, dest, templateDport(svc, f.dstPort, dest), CF_TEMPLATE, fwmark);
      if (ct < 0) return SCHED_DROP;
      c.setTimeoutMs(ct, svc.timeoutS * 1000);
    }
    const ops = svc.isOnePacket && f.protocol === 'udp' ? CF_ONE_PACKET : 0;
    this.protectedSlot = ct;
    const s = this.newConn(k, dest, persistentConnDport(svc, f.dstPort, dest), ops, fwmark);
    this.protectedSlot = -1;
    if (s < 0) {
      this.put(ct);
      return SCHED_DROP;
    }
    c.setControl(s, ct);
    c.addNControl(ct, 1);
    this.put(ct); // only new conns refresh the template (spec §2.7)
    this.connStats(s, svc);
    return s;
  }

  /** ip_vs_check_template failed: unhash so it never matches again; it dies when unreferenced. */
  private invalidateTemplate(ct: number): void {
    this.conns.invalidate(ct);
  }

  /** ip_vs_conn_new + ip_vs_bind_dest; full NAT also gets its local endpoint. -1 with dropReason set. */
  private newConn(k: ConnKey, dest: Destination | undefined, dport: number, flags: number, fwmark: number): number {
    const c = this.conns;
    if (dest) {
      flags |= CF_INACTIVE | FWD_BITS[dest.method];
      if (dest.method !== 'masq' && dest.method !== 'fullnat') flags |= CF_NOOUTPUT;
    }
    if (this.sysctls.conntrack !== 0) flags |= CF_NFCT;
    let s = c.create(k, dest, dport, flags, fwmark);
    if (s < 0 && this.evictOne()) s = c.create(k, dest, dport, flags, fwmark);
    if (s < 0) {
      this.dropReason = 'table-full';
      return -1;
    }
    if (dest) dest.bindConn(flags & CF_TEMPLATE ? 'template' : 'inactive');
    if ((flags & (CF_FWD_MASK | CF_TEMPLATE)) === CF_FULLNAT && dest) {
      const got = this.fullnat ? this.fullnat.allocate(c, this.skey, k.proto, dest.addr, dport) : -1;
      if (got < 0) {
        dest.unbindConn('inactive');
        c.free(s);
        this.dropReason = 'fullnat-no-port';
        return -1;
      }
      c.setLocal(s, Math.floor(got / 65536), got & 0xffff);
    }
    return s;
  }

  /** Table full: with drop_entry enabled, evict one entry drop_entry would drop (a small random sample). */
  private evictOne(): boolean {
    if (this.sysctls.drop_entry === 0) return false;
    const c = this.conns;
    const now = this.clock.nowMs();
    for (let i = 0; i < 64; i++) {
      const s = this.random.nextU32() % c.highWater;
      if (s !== this.protectedSlot && this.defense.shouldDrop(c, s, now)) {
        this.expire(s, true);
        return true;
      }
    }
    return false;
  }

  /** What a failed schedule becomes (ip_vs_leave and the *ignored codes). */
  private leave(code: number, svc: VirtualService, k: ConnKey, p: PacketMeta, icmp: boolean): InResult {
    if (code === SCHED_PASS) return this.rPass;
    if (code === SCHED_DROP) return this.drop(this.dropReason);
    if (!icmp && this.sysctls.cache_bypass !== 0 && svc.key.kind === 'fwmark' && isUnicast(p.daddr)) {
      const ops = svc.isOnePacket && p.protocol === 'udp' ? CF_ONE_PACKET : 0;
      const s = this.newConn(k, undefined, 0, CF_BYPASS | ops, p.fwmark);
      if (s < 0) return this.drop(this.dropReason);
      this.transition(s, DIR_INPUT, p);
      this.countInPkt(s);
      this.rBypass.conn = s;
      this.rBypass.isNew = true;
      this.put(s);
      return this.rBypass;
    }
    // Other ports reaching an FTP service through the FTP rule are not IPVS's to refuse.
    if (svc.port === FTPPORT && this.flow.dstPort !== FTPPORT) return this.rPass;
    if (icmp) return this.drop('icmp-no-dest');
    this.drops['no-dest']++;
    this.rNoDest.svc = svc;
    return this.rNoDest;
  }

  // ---- per-packet helpers ----

  /** is_new_conn: TCP SYN or SCTP INIT. */
  private startsConn(p: PacketMeta): boolean {
    if (p.protocol === 'tcp') return (p.tcpFlags & TCP_SYN) !== 0;
    return p.protocol === 'sctp' && p.sctpChunk === SCTP_CID_INIT;
  }

  /** The protocol's conn_schedule gate: SYN without RST (sloppy_tcp: any non-RST), INIT (sloppy_sctp: any but ABORT). */
  private mayCreate(p: PacketMeta): boolean {
    if (p.protocol === 'tcp') return (p.tcpFlags & TCP_RST) === 0 && (this.sysctls.sloppy_tcp !== 0 || (p.tcpFlags & TCP_SYN) !== 0);
    if (p.protocol === 'sctp') return p.sctpChunk !== SCTP_CID_ABORT && (this.sysctls.sloppy_sctp !== 0 || p.sctpChunk === SCTP_CID_INIT);
    return true;
  }

  /** is_new_conn_expected (conn_reuse_mode, spec §2.9). */
  private newConnExpected(s: number): boolean {
    const c = this.conns;
    if (c.control(s) >= 0) return false;
    const st = c.state(s);
    if (c.proto(s) === IPPROTO_TCP) {
      return st === TCP_S_TIME_WAIT || st === TCP_S_CLOSE ||
        ((this.sysctls.conn_reuse_mode & 2) !== 0 && st === TCP_S_FIN_WAIT && (c.flags(s) & CF_NOOUTPUT) !== 0);
    }
    return c.proto(s) === IPPROTO_SCTP && st === SCTP_S_CLOSED;
  }

  /** The protocol's state_transition (spec §2.5, §2.6), moving active/inactive counts with it. */
  private transition(s: number, dir: number, p: PacketMeta): void {
    const c = this.conns;
    const proto = c.proto(s);
    if (proto === IPPROTO_UDP) {
      c.setTimeoutMs(s, this.timeouts.udp[0]);
      if (dir === DIR_OUTPUT) this.assure(c.control(s));
      return;
    }
    let d = dir;
    if (c.flags(s) & CF_NOOUTPUT) {
      if (dir === DIR_OUTPUT) c.setFlags(s, c.flags(s) & ~CF_NOOUTPUT);
      else d = DIR_INPUT_ONLY;
    }
    const old = c.state(s);
    const tcp = proto === IPPROTO_TCP;
    const ns = tcp ? tcpNextState(this.defense.secureTcp, d, p.tcpFlags, old) : sctpNextState(d, p.sctpChunk, old);
    if (ns !== old) {
      const active = tcp ? TCP_STATE_ACTIVE[ns] : ns === SCTP_S_ESTABLISHED;
      const dest = c.destOf(s);
      if (dest) {
        const inactive = (c.flags(s) & CF_INACTIVE) !== 0;
        if (!inactive && !active) {
          dest.moveConn('active', 'inactive');
          c.setFlags(s, c.flags(s) | CF_INACTIVE);
        } else if (inactive && active) {
          dest.moveConn('inactive', 'active');
          c.setFlags(s, c.flags(s) & ~CF_INACTIVE);
        }
      }
      if (ns === (tcp ? TCP_S_ESTABLISHED : SCTP_S_ESTABLISHED)) this.assure(c.control(s));
    }
    c.setState(s, ns);
    c.setTimeoutMs(s, tcp ? this.timeouts.tcp[ns] : this.timeouts.sctp[ns]);
  }

  /** ip_vs_control_assure_ct: the controlling template becomes ASSURED. */
  private assure(ct: number): void {
    const c = this.conns;
    if (ct >= 0 && (c.flags(ct) & CF_TEMPLATE) !== 0) c.setState(ct, c.state(ct) | CTPL_S_ASSURED);
  }

  private countInPkt(s: number): void {
    const c = this.conns;
    const ct = c.control(s);
    if ((c.flags(s) & CF_ONE_PACKET) !== 0 && ct >= 0) c.incInPkts(ct);
    else c.incInPkts(s);
  }

  /** ip_vs_conn_put: re-arm to the conn's timeout; a one-packet conn expires right away. */
  private put(s: number): void {
    const c = this.conns;
    if (c.flags(s) & CF_ONE_PACKET) this.expire(s, false);
    else c.wheel.rearm(s, this.clock.nowMs() + c.timeout(s));
  }

  /**
   * ip_vs_conn_expire. A conn that still controls others is re-armed for 60 s (and keeps that
   * timeout). Otherwise it is unlinked and uncounted; when `forced` (flush, drop_entry,
   * expire_nodest_conn: timeout 0) its controller is deleted too if it controls nothing else and
   * is not an ASSURED template (spec §2.4).
   */
  private expire(s: number, forced: boolean): void {
    const c = this.conns;
    if ((c.flags(s) & CF_USED) === 0) return;
    if (c.nControl(s) > 0) {
      c.setTimeoutMs(s, CONN_DELAY_MS);
      c.wheel.arm(s, this.clock.nowMs() + CONN_DELAY_MS);
      return;
    }
    const ct = c.control(s);
    if (ct >= 0) {
      c.setControl(s, -1);
      c.addNControl(ct, -1);
      if (forced && c.nControl(ct) === 0 && ((c.flags(ct) & CF_TEMPLATE) === 0 || (c.state(ct) & CTPL_S_ASSURED) === 0)) {
        this.expire(ct, true);
      }
    }
    const dest = c.destOf(s);
    if (dest) {
      const f = c.flags(s);
      dest.unbindConn(f & CF_TEMPLATE ? 'template' : f & CF_INACTIVE ? 'inactive' : 'active');
    }
    c.free(s);
  }

  /** ip_vs_conn_del of a conn, then of its controller when that controls nothing else (flush paths). */
  private deleteWithController(s: number): void {
    const c = this.conns;
    const ct = c.control(s);
    this.expire(s, true);
    if (ct >= 0 && (c.flags(ct) & CF_USED) !== 0 && c.nControl(ct) === 0) this.expire(ct, true);
  }

  private inStats(s: number, len: number): void {
    const d = this.conns.destOf(s);
    if (!d || !d.isAvailable) return;
    d.stats.inPkts++; d.stats.inBytes += len;
    const v = d.service.stats;
    v.inPkts++; v.inBytes += len;
    const t = this.table.totals;
    t.inPkts++; t.inBytes += len;
  }

  private outStats(s: number, len: number): void {
    const d = this.conns.destOf(s);
    if (!d || !d.isAvailable) return;
    d.stats.outPkts++; d.stats.outBytes += len;
    const v = d.service.stats;
    v.outPkts++; v.outBytes += len;
    const t = this.table.totals;
    t.outPkts++; t.outBytes += len;
  }

  /** ip_vs_conn_stats: a conn was scheduled (spec §2.4). */
  private connStats(s: number, svc: VirtualService): void {
    this.conns.destOf(s)!.stats.conns++;
    svc.stats.conns++;
    this.table.totals.conns++;
  }

  private inResult(s: number, isNew: boolean): InResult {
    const c = this.conns;
    const dest = c.destOf(s);
    if (!dest) {
      this.rBypass.conn = s;
      this.rBypass.isNew = isNew;
      return this.rBypass;
    }
    const r = this.rFwd;
    r.conn = s;
    r.dest = dest;
    r.isNew = isNew;
    r.method = METHOD_OF[c.flags(s) & CF_FWD_MASK];
    r.dport = c.dport(s);
    if (r.method === 'fullnat') {
      r.localAddr = c.localAddrs[c.lidx(s)];
      r.localPort = c.lport(s);
    } else {
      r.localAddr = undefined;
      r.localPort = 0;
    }
    return r;
  }

  private outResult(s: number): OutResult {
    const c = this.conns;
    const r = this.rOut;
    const sc = this.scratch;
    r.conn = s;
    r.dest = c.destOf(s);
    r.method = METHOD_OF[c.flags(s) & CF_FWD_MASK];
    r.vport = c.vport(s);
    r.cport = c.cport(s);
    if (c.flags(s) & CF_V6) {
      c.copyAddr6(s, 1, sc.v6a.bytes);
      c.copyAddr6(s, 0, sc.v6b.bytes);
      r.vaddr = sc.v6a;
      r.caddr = sc.v6b;
    } else {
      writeU32(sc.v4a.bytes, c.vaddr(s));
      writeU32(sc.v4b.bytes, c.caddr(s));
      r.vaddr = sc.v4a;
      r.caddr = sc.v4b;
    }
    return r;
  }

  private drop(reason: DropReason): Drop {
    this.drops[reason]++;
    this.rDrop.reason = reason;
    return this.rDrop;
  }

  private setFlow(protocol: Protocol, src: IpAddress, sport: number, dst: IpAddress, dport: number): void {
    const f = this.flow;
    f.protocol = protocol;
    f.srcAddr = src;
    f.srcPort = sport;
    f.dstAddr = dst;
    f.dstPort = dport;
  }

  private availablePages(): number {
    return this.memory ? this.memory().availablePages : Number.MAX_SAFE_INTEGER;
  }

  /** ip_vs_has_real_service: is (protocol, addr, port) a live destination of a non-fwmark service? */
  private isRealService(p: PacketMeta): boolean {
    const gen = this.table.generation;
    if (this.realServices.gen !== gen) {
      const set = new Set<string>();
      for (const svc of this.table.services()) {
        if (svc.key.kind !== 'addr') continue;
        for (const d of svc.destinations) set.add(`${svc.key.protocol}|${d.addr.bytes.join('.')}|${d.port}`);
      }
      this.realServices = { gen, set };
    }
    return this.realServices.set.has(`${p.protocol}|${p.saddr.bytes.join('.')}|${p.sport}`);
  }
}

function writeU32(b: Uint8Array, v: number): void {
  b[0] = v >>> 24; b[1] = (v >>> 16) & 0xff; b[2] = (v >>> 8) & 0xff; b[3] = v & 0xff;
}
