// Persistence templates (ip_vs_sched_persist, ip_vs_check_template; spec §2.7): the template key
// of each service form, the ports a template and its conns forward to, and when a template may
// still be honoured. The orchestration (create, control, re-arm) is in ipvs.ts.
import type { IpAddress } from '../net/addr.js';
import type { Destination } from '../service/destination.js';
import type { VirtualService } from '../service/virtual-service.js';
import { type ConnKey, fold16, u32Of } from './conn-key.js';
import { IPPROTO_IP } from './conn-flags.js';
import type { Sysctls } from './sysctls.js';

/** The FTP control port: an FTP service's templates carry vport 0 so data conns follow (spec §2.7). */
export const FTPPORT = 21;
/** The FTP data port: the kernel never schedules conns from client port 20 (ip_vs_schedule). */
export const FTPDATA = 20;

/**
 * Fills `k` with the template key for a packet to `svc` (spec §2.7):
 *   vport == service port: <proto, caddr&mask, 0, vaddr, vport>, or vport 0 for an FTP service;
 *   otherwise a fwmark service: <IP, caddr&mask, 0, fwmark-as-address, 0>;
 *   otherwise (port-0 service, or FTP data via the FTP rule): <proto, caddr&mask, 0, vaddr, 0>.
 */
export function fillTemplateKey(svc: VirtualService, proto: number, caddr: IpAddress, vaddr: IpAddress, vport: number, k: ConnKey): void {
  k.template = true;
  k.p1 = 0;
  k.proto = proto;
  let tvport = 0;
  if (vport === svc.port) {
    if (svc.port !== FTPPORT) tvport = vport;
  }
  const fwmark = svc.key.kind === 'fwmark' ? svc.key.fwmark >>> 0 : 0;
  const byFwmark = vport !== svc.port && fwmark !== 0;
  if (byFwmark) k.proto = IPPROTO_IP;
  k.p2 = tvport;
  if (caddr.family === 4) {
    k.v6 = false;
    k.a1 = (u32Of(caddr) & svc.netmask) >>> 0;
    k.a2 = byFwmark ? fwmark : u32Of(vaddr);
    return;
  }
  k.v6 = true;
  const bits = svc.netmask;
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    k.b1[i] = caddr.bytes[i] & (keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff);
  }
  k.a1 = fold16(k.b1);
  if (byFwmark) {
    k.b2.fill(0);
    k.b2[0] = fwmark >>> 24; k.b2[1] = (fwmark >>> 16) & 0xff; k.b2[2] = (fwmark >>> 8) & 0xff; k.b2[3] = fwmark & 0xff;
  } else {
    k.b2.set(vaddr.bytes);
  }
  k.a2 = fold16(k.b2);
}

/** The port a new template records: the dest port for the normal form, 0 for FTP/fwmark/port-0 forms. */
export function templateDport(svc: VirtualService, vport: number, dest: Destination): number {
  return vport === svc.port && svc.port !== FTPPORT ? dest.port : 0;
}

/** The port a conn of a persistent service forwards to: the dest port when vport is the service port. */
export function persistentConnDport(svc: VirtualService, vport: number, dest: Destination): number {
  return vport === svc.port && dest.port !== 0 ? dest.port : vport;
}

/**
 * ip_vs_check_template: a template is honoured while its dest exists, is available and is not
 * quiescent with expire_quiescent_template=1 — whatever its weight or OVERLOAD otherwise (spec §2.7).
 */
export function templateUsable(dest: Destination | undefined, sys: Sysctls): boolean {
  return dest !== undefined && dest.isAvailable && !(sys.expire_quiescent_template !== 0 && dest.weight === 0);
}
