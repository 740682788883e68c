// The connection layer's facade: IPVS's brain between a parsed packet and a forwarding decision
// (ip_vs_core.c ip_vs_in_hook / ip_vs_out_hook, ip_vs_schedule, ip_vs_sched_persist, the protocol
// conn_schedule and state_transition hooks, ip_vs_conn.c expiry; spec §2). Scheduling glue,
// stats and connection accounting go through the service table's objects; storage is ConnTable.
import { type Destination, withExcluded } from '../service/destination.js';
import { METHOD_OF, protoNum } from './conn-core.js';
import { CF_DROUTE, CF_FWD_MASK, CF_HASHED, CF_NFCT, CF_ONE_PACKET, CF_OUT_HASHED, CF_TEMPLATE, CF_USED, CF_V6, IPPROTO_TCP, IPPROTO_UDP } from './conn-flags.js';
import type { InResult, OutResult, PacketMeta } from './ipvs-types.js';
import { ConnScheduling } from './scheduling.js';
import { v4ServiceKey } from '../service/keys.js';
import { SCTP_CID_ABORT } from './sctp-state.js';
import { DEFENSE_SYSCTLS, type SysctlName, validateSysctl } from './sysctls.js';
import { DIR_INPUT, DIR_OUTPUT, TCP_RST, TCP_S_ESTABLISHED } from './tcp-state.js';
import type { TimeoutSettings } from './timeouts.js';

export type * from './ipvs-types.js';
export { DROP_REASONS } from './ipvs-types.js';
export type { IpvsOptions } from './conn-core.js';

/**
 * The connection layer: give it every packet of a virtual service (inbound), every NAT reply
 * (outbound), related ICMP errors, and a tick() from the data plane's loop. Verdict objects are
 * reused: read them before the next call.
 */
export class Ipvs extends ConnScheduling {
  /**
   * A client → virtual service packet (ip_vs_in_hook, spec §2.4–§2.9). `exclude`: destinations the
   * scheduler must skip if this packet schedules a new conn (a proxy's retry after a failed
   * connect); they are excluded (withExcluded) for the scheduling step only.
   */
  inbound(p: PacketMeta, exclude?: readonly Destination[]): InResult {
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
      s = exclude === undefined ? this.schedule(svc, k, p.fwmark) : withExcluded(exclude, () => this.schedule(svc, k, p.fwmark));
      if (s < 0) return this.leave(s, svc, k, p, false);
      isNew = true;
    }
    return this.forwardIn(s, isNew, p);
  }

  /** A client packet of conn `s`: counters, state, timer; the verdict. */
  private forwardIn(s: number, isNew: boolean, p: PacketMeta): InResult {
    this.inStats(s, p.length);
    this.transition(s, DIR_INPUT, p);
    this.countInPkt(s);
    // The result is read before put(): a one-packet conn is gone after it (spec §2.8).
    const r = this.inResult(s, isNew);
    this.put(s);
    return r;
  }

  /**
   * inbound() for a packet of the conn the caller already holds (slot `s`, serial `serial`, from an
   * earlier verdict): the same steps without the hash lookup, which would find that very entry.
   * Anything else takes the full path: the entry is gone or its slot reused, the packet may start a
   * new conn (SYN, INIT: spec §2.9 reuse), or its destination is unavailable (spec §2.9).
   */
  inboundAt(s: number, serial: number, p: PacketMeta): InResult {
    const c = this.conns;
    if (!c.holds(s, serial) || (c.flags(s) & CF_HASHED) === 0 || this.startsConn(p)) return this.inbound(p);
    const d = c.destOf(s);
    if (d !== undefined && !d.isAvailable) return this.inbound(p);
    return this.forwardIn(s, false, p);
  }

  /**
   * outbound() for a reply of the NAT conn the caller holds (see inboundAt); the full path when it
   * is gone. One difference, on purpose: the out tuple (server, client ip:port) is not unique. A
   * client port that reaches two VIPs (or two ports) served by one real server makes two conns
   * with one out tuple, and the full path credits whichever the hash probe meets first, as the
   * kernel does; the holder knows which conn the reply belongs to, and credits that one.
   */
  outboundAt(s: number, serial: number, p: PacketMeta): OutResult {
    const c = this.conns;
    if (!c.holds(s, serial) || (c.flags(s) & CF_OUT_HASHED) === 0) return this.outbound(p);
    return this.forwardOut(s, p);
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
    return this.forwardOut(s, p);
  }

  /** A real server's reply of NAT conn `s`: counters, state, timer; the verdict. */
  private forwardOut(s: number, p: PacketMeta): OutResult {
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

  // ---- offload: a kernel fast path forwards some conns' packets without showing them here ----

  /**
   * May conn `s`'s further client packets bypass this layer? Only where a packet changes nothing
   * but counters and the timer: an IPv4 direct-routing conn, UDP or ESTABLISHED TCP (the fast path
   * hands SYN/FIN/RST back, so state changes still happen here), not one-packet, not a template,
   * its destination available (a deleted one drops or expires its conns here, spec §2.9).
   */
  offloadable(s: number): boolean {
    const c = this.conns;
    if (!c.isUsed(s)) return false;
    const f = c.flags(s);
    if ((f & (CF_TEMPLATE | CF_V6 | CF_ONE_PACKET)) !== 0 || (f & CF_FWD_MASK) !== CF_DROUTE) return false;
    const proto = c.proto(s);
    if (proto === IPPROTO_TCP) { if (c.state(s) !== TCP_S_ESTABLISHED) return false; }
    else if (proto !== IPPROTO_UDP) return false;
    const d = c.destOf(s);
    return d !== undefined && d.isAvailable;
  }

  /**
   * The fast path forwarded `packets` (`bytes`) of the conn in slot `s` since the last report:
   * when `s` still holds that conn (named by its IPv4 tuple, host-order numbers, so a slot reused
   * by another conn is not credited) they are counted and its timer re-armed, as those packets
   * would have done here. Returns whether the conn is still offloadable; when not, the caller
   * removes the fast-path entry and the conn's later packets come here again.
   */
  offloadCredit(s: number, caddr: number, vaddr: number, cport: number, vport: number, proto: number, packets: number, bytes: number): boolean {
    const c = this.conns;
    if (!c.isUsed(s) || (c.flags(s) & (CF_TEMPLATE | CF_V6)) !== 0 || c.caddr(s) !== caddr || c.vaddr(s) !== vaddr ||
        c.cport(s) !== cport || c.vport(s) !== vport || c.proto(s) !== proto) {
      return false;
    }
    if (packets > 0) {
      this.inStats(s, bytes, packets);
      c.addInPkts(s, packets);
      this.put(s);
    }
    return this.offloadable(s);
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

  // ---- verdicts ----

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

  /** ip_vs_has_real_service: is (protocol, addr, port) a live destination of a non-fwmark service? */
  private isRealService(p: PacketMeta): boolean {
    const gen = this.table.generation;
    if (this.realServices.gen !== gen) {
      const v4 = new Set<number>();
      const v6 = new Set<string>();
      for (const svc of this.table.services()) {
        if (svc.key.kind !== 'addr') continue;
        for (const d of svc.destinations) {
          if (d.addr.family === 4) v4.add(v4ServiceKey(svc.key.protocol, d.addr.bytes, d.port));
          else v6.add(`${svc.key.protocol}|${d.addr.bytes.join('.')}|${d.port}`);
        }
      }
      this.realServices = { gen, v4, v6 };
    }
    // IPv4 (the common case) is looked up by number: no string per packet.
    if (p.saddr.family === 4) return this.realServices.v4.has(v4ServiceKey(p.protocol, p.saddr.bytes, p.sport));
    return this.realServices.v6.size > 0 && this.realServices.v6.has(`${p.protocol}|${p.saddr.bytes.join('.')}|${p.sport}`);
  }
}


function writeU32(b: Uint8Array, v: number): void {
  b[0] = v >>> 24; b[1] = (v >>> 16) & 0xff; b[2] = (v >>> 8) & 0xff; b[3] = v & 0xff;
}
