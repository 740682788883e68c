// Scheduling a new connection (ip_vs_schedule, ip_vs_sched_persist, ip_vs_leave; spec §2.6–§2.8):
// non-persistent and persistent services, templates, one-packet conns, and what a failure becomes.
import type { IpAddress } from '../net/addr.js';
import type { FlowInfo } from '../sched/scheduler.js';
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import { ConnCore } from './conn-core.js';
import type { ConnKey } from './conn-key.js';
import { CF_BYPASS, CF_ONE_PACKET, CF_TEMPLATE } from './conn-flags.js';
import type { InResult, PacketMeta } from './ipvs-types.js';
import {
  FTPDATA, FTPPORT, fillTemplateKey, persistentConnDport, templateDport, templateUsable,
} from './persistence.js';
import { DIR_INPUT } from './tcp-state.js';

// ip_vs_schedule outcomes besides a slot: *ignored = 1 (accept), 0 (leave), -1 (drop).
export const SCHED_PASS = -1;
export const SCHED_LEAVE = -2;
export const SCHED_DROP = -3;

function isUnicast(a: IpAddress): boolean {
  if (a.family === 4) return a.bytes[0] < 224 && !(a.bytes[0] === 0 && a.bytes[1] === 0 && a.bytes[2] === 0 && a.bytes[3] === 0);
  return a.bytes[0] !== 0xff;
}

/** Scheduling on top of ConnCore. */
export class ConnScheduling extends ConnCore {
  // ---- scheduling (ip_vs_schedule, ip_vs_sched_persist, ip_vs_leave) ----

  protected schedule(svc: VirtualService, k: ConnKey, fwmark: number): number {
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

  protected schedulePersistent(svc: VirtualService, k: ConnKey, fwmark: number): number {
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

  /** What a failed schedule becomes (ip_vs_leave and the *ignored codes). */
  protected leave(code: number, svc: VirtualService, k: ConnKey, p: PacketMeta, icmp: boolean): InResult {
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

}
