// Internals of the connection layer shared by scheduling and the facade: conn creation and
// binding (ip_vs_conn_new, ip_vs_bind_dest), expiry (ip_vs_conn_expire), protocol state
// transitions with their accounting, stats, and the reused verdict objects.
import type { Clock } from '../clock.js';
import type { IpAddress } from '../net/addr.js';
import type { RandomSource } from '../random.js';
import type { Destination } from '../service/destination.js';
import type { ServiceTable } from '../service/service-table.js';
import { type ForwardMethod, type Protocol, repliesThroughDirector } from '../service/types.js';
import type { VirtualService } from '../service/virtual-service.js';
import { ConnKey } from './conn-key.js';
import {
  CF_DROUTE, CF_FULLNAT, CF_FWD_MASK, CF_INACTIVE, CF_LOCALNODE, CF_MASQ, CF_NFCT, CF_NOOUTPUT,
  CF_ONE_PACKET, CF_TEMPLATE, CF_TUNNEL, CF_USED, CTPL_S_ASSURED, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
} from './conn-flags.js';
import { ConnTable } from './conn-table.js';
import { Defense } from './defense.js';
import { FullNatPool, type FullNatPoolConfig } from './fullnat-pool.js';
import {
  DROP_REASONS, type Bypass, type Drop, type DropReason, type InForward, type NoDest, type OutForward,
  type PacketMeta, type Pass, type Unreachable,
} from './ipvs-types.js';
import { SCTP_CID_ABORT, SCTP_CID_INIT, SCTP_S_CLOSED, SCTP_S_ESTABLISHED, sctpNextState } from './sctp-state.js';
import { type Sysctls, makeSysctls } from './sysctls.js';
import {
  DIR_INPUT_ONLY, DIR_OUTPUT, TCP_RST, TCP_S_CLOSE, TCP_S_ESTABLISHED, TCP_S_FIN_WAIT, TCP_S_TIME_WAIT,
  TCP_STATE_ACTIVE, TCP_SYN, tcpNextState,
} from './tcp-state.js';
import { CONN_DELAY_MS, Timeouts } from './timeouts.js';

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
/** Forwarding method by the conn's FWD bits (BYPASS and unused values read as masq). */
export const METHOD_OF: readonly ForwardMethod[] = ['masq', 'local', 'tunnel', 'droute', 'masq', 'fullnat', 'masq', 'masq'];

/** The IP protocol number of a PacketMeta protocol. */
export function protoNum(p: Protocol): number {
  return p === 'tcp' ? IPPROTO_TCP : p === 'udp' ? IPPROTO_UDP : IPPROTO_SCTP;
}

/** State, storage and the per-conn operations; Ipvs is the public face. */
export class ConnCore {
  /** The connection table: count, get(id), entries() for listings. */
  readonly conns: ConnTable;
  /** Current sysctl values (defense modes move between 1 and 2 by themselves); write with setSysctl. */
  readonly sysctls: Sysctls;
  /** Packets dropped, by reason. */
  readonly drops: Record<DropReason, number>;
  /** Per-state timeouts; `--set` through setTimeouts. */
  readonly timeouts = new Timeouts();
  /** drop_entry / drop_packet / secure_tcp state. */
  readonly defense: Defense;
  /** Full-NAT local endpoint pool, when configured. */
  readonly fullnat: FullNatPool | undefined;

  protected readonly table: ServiceTable;
  protected readonly clock: Clock;
  protected readonly random: RandomSource;
  protected readonly memory: (() => { availablePages: number }) | undefined;
  protected readonly key = new ConnKey();
  protected readonly tkey = new ConnKey();
  protected readonly skey = new ConnKey();
  protected readonly flow: { protocol: Protocol; srcAddr: IpAddress; srcPort: number; dstAddr: IpAddress; dstPort: number };
  protected lastDefenseMs: number;
  protected dropReason: DropReason = 'table-full';
  /** A template being used by the conn under construction: eviction must not take it. */
  protected protectedSlot = -1;
  protected readonly onExpire = (slot: number): void => this.expire(slot, false);
  protected realServices: { gen: number; v4: Set<number>; v6: Set<string> } = { gen: -1, v4: new Set(), v6: new Set() };

  protected readonly rFwd: InForward = { kind: 'forward', conn: -1, dest: undefined!, isNew: false, method: 'droute', dport: 0, localAddr: undefined, localPort: 0 };
  protected readonly rPass: Pass = { kind: 'pass' };
  protected readonly rDrop: Drop = { kind: 'drop', reason: 'table-full' };
  protected readonly rNoDest: NoDest = { kind: 'no-dest', svc: undefined! };
  protected readonly rBypass: Bypass = { kind: 'bypass', conn: -1, isNew: false };
  protected readonly rOut: OutForward = {
    kind: 'forward', conn: -1, dest: undefined, method: 'masq',
    vaddr: { family: 4, bytes: new Uint8Array(4) }, vport: 0, caddr: { family: 4, bytes: new Uint8Array(4) }, cport: 0,
  };
  protected readonly rUnreach: Unreachable = { kind: 'unreachable' };
  protected readonly scratch = {
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

  /** ip_vs_check_template failed: unhash so it never matches again; it dies when unreferenced. */
  protected invalidateTemplate(ct: number): void {
    this.conns.invalidate(ct);
  }

  /** ip_vs_conn_new + ip_vs_bind_dest; full NAT also gets its local endpoint. -1 with dropReason set. */
  protected newConn(k: ConnKey, dest: Destination | undefined, dport: number, flags: number, fwmark: number): number {
    const c = this.conns;
    if (dest) {
      flags |= CF_INACTIVE | FWD_BITS[dest.method];
      if (!repliesThroughDirector(dest.method)) flags |= CF_NOOUTPUT;
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
  protected evictOne(): boolean {
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

  // ---- per-packet helpers ----

  /** is_new_conn: TCP SYN or SCTP INIT. */
  protected startsConn(p: PacketMeta): boolean {
    if (p.protocol === 'tcp') return (p.tcpFlags & TCP_SYN) !== 0;
    return p.protocol === 'sctp' && p.sctpChunk === SCTP_CID_INIT;
  }

  /** The protocol's conn_schedule gate: SYN without RST (sloppy_tcp: any non-RST), INIT (sloppy_sctp: any but ABORT). */
  protected mayCreate(p: PacketMeta): boolean {
    if (p.protocol === 'tcp') return (p.tcpFlags & TCP_RST) === 0 && (this.sysctls.sloppy_tcp !== 0 || (p.tcpFlags & TCP_SYN) !== 0);
    if (p.protocol === 'sctp') return p.sctpChunk !== SCTP_CID_ABORT && (this.sysctls.sloppy_sctp !== 0 || p.sctpChunk === SCTP_CID_INIT);
    return true;
  }

  /** is_new_conn_expected (conn_reuse_mode, spec §2.9). */
  protected newConnExpected(s: number): boolean {
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
  protected transition(s: number, dir: number, p: PacketMeta): void {
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
  protected assure(ct: number): void {
    const c = this.conns;
    if (ct >= 0 && (c.flags(ct) & CF_TEMPLATE) !== 0) c.setState(ct, c.state(ct) | CTPL_S_ASSURED);
  }

  protected countInPkt(s: number): void {
    const c = this.conns;
    const ct = c.control(s);
    if ((c.flags(s) & CF_ONE_PACKET) !== 0 && ct >= 0) c.incInPkts(ct);
    else c.incInPkts(s);
  }

  /** ip_vs_conn_put: re-arm to the conn's timeout; a one-packet conn expires right away. */
  protected put(s: number): void {
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
  protected expire(s: number, forced: boolean): void {
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
  protected deleteWithController(s: number): void {
    const c = this.conns;
    const ct = c.control(s);
    this.expire(s, true);
    if (ct >= 0 && (c.flags(ct) & CF_USED) !== 0 && c.nControl(ct) === 0) this.expire(ct, true);
  }

  /** Counts `packets` client packets of `len` bytes in all (one by default); a deleted destination's are not counted. */
  protected inStats(s: number, len: number, packets = 1): void {
    const d = this.conns.destOf(s);
    if (!d || !d.isAvailable) return;
    d.stats.inPkts += packets; d.stats.inBytes += len;
    const v = d.service.stats;
    v.inPkts += packets; v.inBytes += len;
    const t = this.table.totals;
    t.inPkts += packets; t.inBytes += len;
  }

  protected outStats(s: number, len: number): void {
    const d = this.conns.destOf(s);
    if (!d || !d.isAvailable) return;
    d.stats.outPkts++; d.stats.outBytes += len;
    const v = d.service.stats;
    v.outPkts++; v.outBytes += len;
    const t = this.table.totals;
    t.outPkts++; t.outBytes += len;
  }

  /** ip_vs_conn_stats: a conn was scheduled (spec §2.4). */
  protected connStats(s: number, svc: VirtualService): void {
    this.conns.destOf(s)!.stats.conns++;
    svc.stats.conns++;
    this.table.totals.conns++;
  }

  protected drop(reason: DropReason): Drop {
    this.drops[reason]++;
    this.rDrop.reason = reason;
    return this.rDrop;
  }

  protected setFlow(protocol: Protocol, src: IpAddress, sport: number, dst: IpAddress, dport: number): void {
    const f = this.flow;
    f.protocol = protocol;
    f.srcAddr = src;
    f.srcPort = sport;
    f.dstAddr = dst;
    f.dstPort = dport;
  }

  protected availablePages(): number {
    return this.memory ? this.memory().availablePages : Number.MAX_SAFE_INTEGER;
  }

}
