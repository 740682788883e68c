// How ipvsadm names services, destinations, forwarding methods and scheduler flags in its
// listings and saved rules (print_service_entry, fwd_name, fwd_switch, print_sched_flags; spec §5.3,
// §5.7), and print_largenum for the --stats/--rate columns (spec §5.4).
import type { Destination } from '../../core/service/destination.js';
import { type ForwardMethod, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3 } from '../../core/service/types.js';
import type { VirtualService } from '../../core/service/virtual-service.js';
import { cInt, padLeft } from './cstr.js';
import { type NameProto, type NameResolver, addrPortName } from './resolver.js';

/** How names are rendered: numbers only (-n) or through the resolver. */
export interface NameOptions {
  readonly numeric: boolean;
  readonly resolver: NameResolver;
}

/** The protocol used for port names of a service's addresses (fwmark services are TCP in ipvsadm). */
export function serviceProto(svc: VirtualService): NameProto {
  return svc.key.kind === 'addr' ? svc.key.protocol : 'tcp';
}

/** ipvsadm's protocol_name / option_from_protocol. */
const PROTO_NAME = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' } as const;
const PROTO_OPTION = { tcp: '-t', udp: '-u', sctp: '--sctp-service' } as const;

/**
 * svc_name of print_service_entry. Listing: "TCP  addr:port" (cut to 33 characters unless IPv6) or
 * "FWM  7" / "FWM  7 IPv6"; rule (-S): "-t addr:port" or "-f 7" / "-f 7 -6". The fwmark is printed
 * with %d, so marks above 2^31-1 come out negative, as with ipvsadm.
 */
export function serviceName(svc: VirtualService, rule: boolean, names: NameOptions): string {
  const k = svc.key;
  if (k.kind === 'fwmark') {
    const mark = cInt(k.fwmark);
    if (rule) return k.family === 6 ? `-f ${mark} -6` : `-f ${mark}`;
    return k.family === 6 ? `FWM  ${mark} IPv6` : `FWM  ${mark}`;
  }
  const vname = addrPortName(k.addr, k.port, k.protocol, names.numeric, names.resolver);
  if (rule) return `${PROTO_OPTION[k.protocol]} ${vname}`;
  const text = `${PROTO_NAME[k.protocol].padEnd(4)} ${vname}`;
  return k.addr.family !== 6 ? text.slice(0, 33) : text;
}

/** A destination's addr:port as listings show it (cut to 28 characters unless IPv6). */
export function destName(svc: VirtualService, d: Destination, rule: boolean, names: NameOptions): string {
  const text = addrPortName(d.addr, d.port, serviceProto(svc), names.numeric, names.resolver);
  return !rule && d.addr.family !== 6 ? text.slice(0, 28) : text;
}

/**
 * fwd_name: Masq, Local, Tunnel, Route. tsvs's full NAT shows as "FullNat" (ipvsadm has no name
 * for it; the kernel's /proc would say Masq for an unknown method).
 */
export function fwdName(m: ForwardMethod): string {
  switch (m) {
    case 'masq': return 'Masq';
    case 'local': return 'Local';
    case 'tunnel': return 'Tunnel';
    case 'droute': return 'Route';
    case 'fullnat': return 'FullNat';
  }
}

/** fwd_switch for -S: -m, -i, -g (a local destination is saved as -g); tsvs's full NAT as --fullnat. */
export function fwdSwitch(m: ForwardMethod): string {
  switch (m) {
    case 'masq': return '-m';
    case 'tunnel': return '-i';
    case 'local':
    case 'droute': return '-g';
    case 'fullnat': return '--fullnat';
  }
}

/** print_sched_flags: the flag names for the scheduler, comma-separated (may be empty). */
export function schedFlagsText(svc: VirtualService): string {
  const f = svc.flags;
  const out: string[] = [];
  if (svc.scheduler === 'sh' || svc.scheduler === 'mh') {
    const s = svc.scheduler;
    if (f & SVC_F_SCHED1) out.push(`${s}-fallback`);
    if (f & SVC_F_SCHED2) out.push(`${s}-port`);
  } else {
    if (f & SVC_F_SCHED1) out.push('flag-1');
    if (f & SVC_F_SCHED2) out.push('flag-2');
    if (f & SVC_F_SCHED3) out.push('flag-3');
  }
  return out.join(',');
}

/** The persistence mask of a service as ipvsadm prints it: dotted IPv4 mask, or IPv6 prefix length. */
export function maskText(svc: VirtualService): string | undefined {
  if (svc.family === 4) {
    const m = svc.netmask >>> 0;
    if (m === 0xffffffff) return undefined;
    return `${m >>> 24}.${(m >>> 16) & 0xff}.${(m >>> 8) & 0xff}.${m & 0xff}`;
  }
  return svc.netmask !== 128 ? String(cInt(svc.netmask)) : undefined;
}

/**
 * print_largenum: `%9llu` below 10^8, else `%8lluK` (÷1000) below 10^9, `%8lluM` (÷10^6) below
 * 10^11, `%8lluG` (÷10^9) below 10^14, `%8lluT` (÷10^12); with --exact `%*llu` of width
 * max(9, digits+1).
 */
export function largenum(v: number | bigint, exact: boolean): string {
  const i = BigInt(v);
  const s = i.toString();
  if (exact) return padLeft(s, s.length <= 8 ? 9 : s.length + 1);
  if (i < 100000000n) return padLeft(s, 9);
  if (i < 1000000000n) return padLeft((i / 1000n).toString(), 8) + 'K';
  if (i < 100000000000n) return padLeft((i / 1000000n).toString(), 8) + 'M';
  if (i < 100000000000000n) return padLeft((i / 1000000000n).toString(), 8) + 'G';
  return padLeft((i / 1000000000000n).toString(), 8) + 'T';
}
